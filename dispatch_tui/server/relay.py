"""The socket layer: the only code here that touches WebSockets.

It accepts connections, feeds their frames to the hub, writes the hub's
frames with a per-client cap on unsent bytes (a client over it is closed with
1013 "slow consumer"), answers ``GET /healthz``, and stops gracefully.
"""

from __future__ import annotations

import asyncio
import http
import json
import logging
import ssl
from collections.abc import Callable, Collection, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, broadcast, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State

from dispatch_tui.protocol import CloseCode
from dispatch_tui.server.agents.base import Agent
from dispatch_tui.server.broker import Broker, LocalBroker
from dispatch_tui.server.hub import Hub, Session
from dispatch_tui.server.journal import Journal, Retention
from dispatch_tui.server.pipeline import CallPipeline, PipelineSettings

logger = logging.getLogger(__name__)

DEFAULT_MAX_MESSAGE_BYTES = 65536
DEFAULT_MAX_CLIENT_BUFFER = 2 << 20
SLOW_CONSUMER = "slow consumer"
#: Seconds a slow consumer has to read up to its close frame.
SLOW_CONSUMER_GRACE = 30.0


def default_db_path() -> Path:
    """The journal's default home: the user's data directory."""
    from platformdirs import user_data_path

    return user_data_path("dispatch") / "journal.sqlite3"


@dataclass(slots=True)
class RelaySettings:
    """Everything ``dispatch serve`` can set on the relay itself."""

    host: str = "127.0.0.1"
    port: int = 8765
    db: str = field(default_factory=lambda: str(default_db_path()))
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    max_client_buffer: int = DEFAULT_MAX_CLIENT_BUFFER
    compression: bool = False
    retention: Retention = field(default_factory=Retention)
    ping_interval: float | None = 20.0
    ping_timeout: float | None = 20.0
    close_timeout: float = 10.0
    ssl_context: ssl.SSLContext | None = None
    server_name: str = "dispatch"


class WebSocketOutbox:
    """Writes frames to connections without letting one slow client hurt the rest."""

    def __init__(self, max_client_buffer: int) -> None:
        self.max_client_buffer = max_client_buffer
        self._closing: set[asyncio.Task[None]] = set()

    def send(self, sessions: Collection[Session], payload: bytes) -> int:
        ready: list[ServerConnection] = []
        limit = self.max_client_buffer
        for session in sessions:
            connection: ServerConnection = session.transport
            if connection.protocol.state is not State.OPEN or connection.transport.is_closing():
                continue
            if connection.transport.get_write_buffer_size() > limit:
                logger.warning(
                    "closing %s (%s): more than %d bytes unsent",
                    session.client_id,
                    session.address,
                    limit,
                )
                # Its close frame waits behind what is already buffered; give it
                # time to drain before the connection is cut without one.
                connection.close_timeout = SLOW_CONSUMER_GRACE
                self.close(session, CloseCode.TRY_AGAIN_LATER, SLOW_CONSUMER)
                continue
            ready.append(connection)
        broadcast(ready, payload, text=True)
        return len(ready)

    def close(self, session: Session, code: int, reason: str) -> None:
        connection: ServerConnection = session.transport
        task = asyncio.get_running_loop().create_task(connection.close(code, reason))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("%s stopped: %r", task.get_name(), task.exception())


def format_address(remote: Any) -> str:
    """``"host:port"``, as the seed protocol's ``from`` field shows a peer."""
    if isinstance(remote, tuple) and len(remote) >= 2:
        return f"{remote[0]}:{remote[1]}"
    return str(remote)


class Relay:
    """One running relay: hub, journal, broker and the WebSocket server."""

    def __init__(
        self,
        settings: RelaySettings,
        broker: Broker | None = None,
        agent: Agent | None = None,
        pipeline: PipelineSettings | None = None,
    ) -> None:
        self.settings = settings
        self.journal = Journal(settings.db, settings.retention)
        self.outbox = WebSocketOutbox(settings.max_client_buffer)
        self.agent = agent
        self.pipeline_settings = pipeline or PipelineSettings()
        self._broker = broker
        self.hub: Hub | None = None
        self.pipeline: CallPipeline | None = None
        self._server: Server | None = None
        self._background: set[asyncio.Task[None]] = set()
        self.port = settings.port

    @property
    def scheme(self) -> str:
        return "wss" if self.settings.ssl_context is not None else "ws"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.settings.host}:{self.port}"

    def require_hub(self) -> Hub:
        if self.hub is None:
            raise RuntimeError("relay is not started")
        return self.hub

    async def start(self) -> None:
        """Open the journal and start accepting connections."""
        loop = asyncio.get_running_loop()
        await asyncio.to_thread(self.journal.start, loop)
        broker = self._broker or LocalBroker(self.journal.last_seq)
        self.hub = Hub(self.outbox, self.journal, broker, self.settings.server_name)
        self.pipeline = CallPipeline(self.hub, self.agent, self.pipeline_settings)
        self.hub.transcript_sink = self.pipeline.feed
        self.hub.status["agent"] = "off" if self.agent is None else "ready"
        if self.agent is not None:
            self.agent.on_health = self._agent_health
        await broker.start()
        s = self.settings
        self._server = await serve(
            self._handle_connection,
            s.host,
            s.port,
            compression="deflate" if s.compression else None,
            process_request=self._process_request,
            max_size=s.max_message_bytes,
            ping_interval=s.ping_interval,
            ping_timeout=s.ping_timeout,
            close_timeout=s.close_timeout,
            ssl=s.ssl_context,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        logger.info("relay listening on %s (journal %s)", self.url, s.db)

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """Run a feeder (upstream source, demo) until the relay stops."""
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        task.add_done_callback(_log_failure)

    async def stop(self) -> None:
        """Close every client with 1001, then flush and close the journal."""
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        if self.pipeline is not None:
            self.pipeline.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        if self.hub is not None:
            await self.hub.broker.stop()
        await asyncio.to_thread(self.journal.close)

    def _agent_health(self, ok: bool, detail: str | None) -> None:
        self.require_hub().set_status(agent="ready" if ok else "error", detail=detail)

    def health(self) -> dict[str, Any]:
        hub = self.require_hub()
        return {
            "status": "ok",
            "clients": len(hub.sessions),
            "rooms": len(hub.rooms),
            "source": hub.status.get("source", "off"),
            "agent": hub.status.get("agent", "off"),
            "last_seq": self.journal.last_seq,
        }

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.path.split("?", 1)[0] == "/healthz":
            body = json.dumps(self.health()).encode()
            headers = Headers(
                [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
            )
            return Response(http.HTTPStatus.OK, "OK", headers, body)
        return None

    async def _handle_connection(self, connection: ServerConnection) -> None:
        hub = self.require_hub()
        session = hub.connect(format_address(connection.remote_address), transport=connection)
        try:
            async for frame in connection:
                if isinstance(frame, bytes):
                    await connection.close(
                        CloseCode.UNSUPPORTED_DATA, "binary frames are not supported"
                    )
                    break
                await hub.handle(session, frame)
        except ConnectionClosed:
            pass
        finally:
            hub.disconnect(session)


async def run_until_signalled(
    relay: Relay, on_started: Callable[[Relay], None] | None = None
) -> None:
    """Serve until SIGINT or SIGTERM, then stop gracefully.

    Prints the one startup line of CLI.md once connections are accepted.
    """
    import signal
    import sys

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await relay.start()
    if on_started is not None:
        on_started(relay)
    sys.stdout.write(f"dispatch relay listening on {relay.url}\n")
    sys.stdout.flush()
    try:
        await stop.wait()
    finally:
        logger.info("stopping: closing clients and flushing the journal")
        await relay.stop()
