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
import math
import ssl
import time
from collections import Counter
from collections.abc import Callable, Collection, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, broadcast, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.typing import Origin

from dispatch_tui import protocol as p
from dispatch_tui import redact
from dispatch_tui.events import Status, error_event
from dispatch_tui.protocol import CloseCode
from dispatch_tui.server.agents.base import Agent
from dispatch_tui.server.auth import Authenticator, AuthFileError, User, bearer_token
from dispatch_tui.server.broker import Broker, LocalBroker
from dispatch_tui.server.escalation import EscalationSettings, Escalator
from dispatch_tui.server.hub import Hub, RateLimit, Session
from dispatch_tui.server.journal import Journal, Retention
from dispatch_tui.server.metrics import CONTENT_TYPE, RelayMetrics
from dispatch_tui.server.pipeline import CallPipeline, PipelineSettings
from dispatch_tui.server.tasks import start_task

logger = logging.getLogger(__name__)
redact.install()

DEFAULT_MAX_MESSAGE_BYTES = 65536
DEFAULT_MAX_CLIENT_BUFFER = 2 << 20
SLOW_CONSUMER = "slow consumer"
#: Seconds a slow consumer has to read up to its close frame.
SLOW_CONSUMER_GRACE = 30.0
#: Bytes of frames joined into one write at most: the slow-consumer cap is
#: checked before each write, so a client goes over it by at most this much.
WRITE_RUN_MAX_BYTES = 65536
#: Seconds between two of the outbox's writes at least, while frames keep
#: coming: what is queued meanwhile goes out together (see WebSocketOutbox).
DEFAULT_WRITE_INTERVAL = 0.01
#: A write to many clients takes a while: the next one waits this many times as
#: long (so that writing takes a third of the relay's time at most), up to
#: WRITE_INTERVAL_MAX seconds.
WRITE_BUSY_FACTOR = 3.0
WRITE_INTERVAL_MAX = 0.05
#: Frames queued for fewer deliveries than this in all (replies, small rooms)
#: never wait for the write interval: holding them back would save little.
WRITE_HOLD_MIN_DELIVERIES = 16


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
    #: Seconds between two writes to the clients at least, while messages keep coming.
    write_interval: float = DEFAULT_WRITE_INTERVAL
    compression: bool = False
    retention: Retention = field(default_factory=Retention)
    ping_interval: float | None = 20.0
    ping_timeout: float | None = 20.0
    close_timeout: float = 10.0
    ssl_context: ssl.SSLContext | None = None
    server_name: str = "dispatch"
    #: Users and roles (TOML); without it every client gets the open role.
    auth_file: str | None = None
    #: Seconds a client without an Authorization header has to send ``auth``.
    auth_timeout: float = 5.0
    #: Browser ``Origin`` values allowed; clients that send no Origin always are.
    origins: tuple[str, ...] | None = None
    rate_limit: RateLimit | None = field(default_factory=RateLimit)
    #: Open connections allowed from one IP address (0: no cap).
    max_connections_per_address: int = 1000
    #: Share ``seq`` and fan-out with other relays through this Redis.
    redis_url: str | None = None
    #: Serve ``GET /metrics`` (Prometheus text format).
    metrics: bool = True
    #: Seconds P1 advice may go unacknowledged before the supervisors are told (0: never).
    escalate_after: float = 30.0
    supervisors_room: str = "supervisors"


class WebSocketOutbox:
    """Writes frames to connections without letting one slow client hurt the rest.

    Frames are queued and written at the end of the event loop's turn or, on
    a busy floor, after the write interval, so a burst reaches each connection
    in one write: one system call per connection per burst rather than per
    frame, which is most of what a delivery costs.

    On a busy floor broadcasts come faster than a turn, and each connection's
    write is a system call: the outbox writes broadcasts at most once per
    ``write_interval``. One that finds the last such write that long ago goes
    out at the end of its turn, with whatever waited for it; one queued sooner
    waits for the next frame after the interval, or twice the interval after
    the last write if none comes. A write to a thousand clients takes
    milliseconds itself, so the interval grows to ``WRITE_BUSY_FACTOR`` times
    the last write's time (``WRITE_INTERVAL_MAX`` at most). Frames for fewer
    than ``WRITE_HOLD_MIN_DELIVERIES`` deliveries in all (a reply, an ack, a
    small room) go at the end of the turn and leave the interval alone, so a
    client's chain of requests never waits; a busy floor's broadcasts wait
    some milliseconds.
    """

    def __init__(
        self,
        max_client_buffer: int,
        metrics: RelayMetrics | None = None,
        write_interval: float = DEFAULT_WRITE_INTERVAL,
    ) -> None:
        self.max_client_buffer = max_client_buffer
        self.metrics = metrics
        self.write_interval = write_interval
        self._closing: set[asyncio.Task[None]] = set()
        self._queued: list[tuple[Collection[Session], bytes]] = []
        self._flush_due: asyncio.Handle | None = None
        #: Deliveries queued: how many frames times their sessions.
        self._queued_deliveries = 0
        #: The pending flush is at the end of this turn, not on a timer.
        self._flush_this_turn = False
        self._flushed_at = -math.inf
        #: Seconds from the last write to the next, at least (write_interval or longer).
        self._interval = write_interval
        #: Clients closed as slow consumers whose close has not finished yet.
        self._dropping: set[str] = set()

    def send(self, sessions: Collection[Session], payload: bytes) -> int:
        """Queue one text frame for every session; returns how many it was queued for."""
        if not sessions:
            return 0
        self._queued.append((sessions, payload))
        self._queued_deliveries += len(sessions)
        if not self._flush_this_turn:
            loop = asyncio.get_running_loop()
            small = self._queued_deliveries < WRITE_HOLD_MIN_DELIVERIES
            if small or loop.time() >= self._flushed_at + self._interval:
                if self._flush_due is not None:
                    self._flush_due.cancel()
                self._flush_due = loop.call_soon(self.flush)
                self._flush_this_turn = True
            elif self._flush_due is None:
                # Frames keep coming on a busy floor, and the first one after the
                # interval flushes (no timer wakes the loop); this is for a lull.
                due = self._flushed_at + 2 * self._interval
                self._flush_due = loop.call_at(due, self.flush)
        return len(sessions)

    def flush(self) -> None:
        """Write what is queued: each connection its frames, in order, in as few writes as can be.

        Connections that are sent the same frames share their bytes, built
        once; a write holds at most ``WRITE_RUN_MAX_BYTES`` (or one frame, if
        larger).
        """
        if self._flush_due is not None:
            self._flush_due.cancel()
            self._flush_due = None
        self._flush_this_turn = False
        if not self._queued:
            return
        queued, self._queued = self._queued, []
        deliveries, self._queued_deliveries = self._queued_deliveries, 0
        if deliveries < WRITE_HOLD_MIN_DELIVERIES:
            self._write_all(queued)
            return
        self._flushed_at = asyncio.get_running_loop().time()
        started = time.perf_counter()
        self._write_all(queued)
        if self.write_interval:
            busy = WRITE_BUSY_FACTOR * (time.perf_counter() - started)
            self._interval = max(self.write_interval, min(busy, WRITE_INTERVAL_MAX))

    def _write_all(self, queued: list[tuple[Collection[Session], bytes]]) -> None:
        if len(queued) == 1:
            sessions, payload = queued[0]
            self._write(sessions, [payload])
            return
        frames_of: dict[Session, list[int]] = {}
        for index, (sessions, _) in enumerate(queued):
            for session in sessions:
                frames_of.setdefault(session, []).append(index)
        sharing: dict[tuple[int, ...], list[Session]] = {}
        for session, indexes in frames_of.items():
            sharing.setdefault(tuple(indexes), []).append(session)
        for frames, members in sharing.items():
            run: list[bytes] = []
            size = 0
            for index in frames:
                payload = queued[index][1]
                if run and size + len(payload) > WRITE_RUN_MAX_BYTES:
                    self._write(members, run)
                    run, size = [], 0
                run.append(payload)
                size += len(payload)
            self._write(members, run)

    def _write(self, sessions: Collection[Session], payloads: list[bytes]) -> None:
        """Write text frames to every session that is open and keeping up.

        The frames are built once and their bytes written to every connection
        that negotiated no extension and has nothing else queued (websockets
        would build the same bytes again per connection); the others go
        through websockets' ``broadcast``.
        """
        framed: bytes | None = None
        others: list[ServerConnection] = []
        limit = self.max_client_buffer
        for session in sessions:
            connection: ServerConnection = session.transport
            protocol = connection.protocol
            transport = connection.transport
            # A sent close frame (ours, or the echo of the peer's) ends the OPEN
            # state; reading it is cheaper than the ``state`` property, per recipient.
            if protocol.close_sent is not None or transport.is_closing():
                continue
            if transport.get_write_buffer_size() > limit:
                self._drop_slow(session, limit)
                continue
            if protocol.extensions or protocol.writes or protocol.expect_continuation_frame:
                others.append(connection)
                continue
            if framed is None:
                framed = b"".join(
                    Frame(Opcode.TEXT, payload).serialize(mask=False, extensions=[])
                    for payload in payloads
                )
            transport.write(framed)
        if others:
            for payload in payloads:
                broadcast(others, payload, text=True)

    def _drop_slow(self, session: Session, limit: int) -> None:
        """Close a client over the cap once, however many writes find it still over."""
        if session.client_id in self._dropping:
            return
        self._dropping.add(session.client_id)
        logger.warning(
            "closing %s (%s): more than %d bytes unsent",
            session.client_id,
            session.address,
            limit,
            extra={
                "client_id": session.client_id,
                "code": CloseCode.TRY_AGAIN_LATER,
                "reason": "slow_consumer",
            },
        )
        connection: ServerConnection = session.transport
        # Its close frame waits behind what is already buffered; give it
        # time to drain before the connection is cut without one.
        connection.close_timeout = SLOW_CONSUMER_GRACE
        if self.metrics is not None:
            self.metrics.closed("slow_consumer")
        task = self._close(session, CloseCode.TRY_AGAIN_LATER, SLOW_CONSUMER)
        task.add_done_callback(lambda _: self._dropping.discard(session.client_id))

    def close(self, session: Session, code: int, reason: str) -> None:
        """Close after what is queued for it (the reason it is closed, often) is written."""
        self.flush()
        self._close(session, code, reason)

    def _close(self, session: Session, code: int, reason: str) -> asyncio.Task[None]:
        connection: ServerConnection = session.transport
        return start_task(
            connection.close(code, reason), f"close {session.client_id}", self._closing
        )


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
        agent: Agent | None = None,
        pipeline: PipelineSettings | None = None,
    ) -> None:
        """Compose the relay's parts, each given what it uses when it is made."""
        self.settings = settings
        self.metrics = RelayMetrics()
        self.journal = Journal(
            settings.db,
            settings.retention,
            self.metrics,
            on_failure=lambda reason: self.hub.journal_failed(reason),
        )
        self.outbox = WebSocketOutbox(
            settings.max_client_buffer, self.metrics, settings.write_interval
        )
        broker = self._make_broker()
        pipeline_settings = pipeline or PipelineSettings()
        calls_room = pipeline_settings.suggestions_room
        self.hub = Hub(
            self.outbox,
            self.journal,
            broker,
            server_name=settings.server_name,
            rate_limit=settings.rate_limit,
            metrics=self.metrics,
            calls_room=calls_room,
            status=Status(
                agent="off" if agent is None else "ready",
                redis="connected" if broker.delivers else None,
            ),
        )
        self.escalator = Escalator(
            self.hub,
            EscalationSettings(settings.escalate_after, settings.supervisors_room, calls_room),
            address=lambda: f"{self.settings.host}:{self.port}",
        )
        self.pipeline = CallPipeline(self.hub, agent, pipeline_settings, self.escalator)
        self.hub.take_calls(self.pipeline.feed, self.escalator.acknowledged)
        self.auth = (
            None if settings.auth_file is None else Authenticator.from_file(settings.auth_file)
        )
        #: The token digest and user behind each authenticated session, for reloads.
        self._credentials: dict[str, tuple[str, User]] = {}
        self._from_handshake: dict[ServerConnection, tuple[str, User]] = {}
        self._per_address: Counter[str] = Counter()
        self._server: Server | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._pinging: set[ServerConnection] = set()
        self._pings: set[asyncio.Task[None]] = set()
        self.port = settings.port

    @property
    def scheme(self) -> str:
        return "wss" if self.settings.ssl_context is not None else "ws"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.settings.host}:{self.port}"

    async def start(self) -> None:
        """Open the journal and start accepting connections."""
        loop = asyncio.get_running_loop()
        await asyncio.to_thread(self.journal.start, loop)
        await self.hub.broker.start()
        s = self.settings
        self._server = await serve(
            self._handle_connection,
            s.host,
            s.port,
            compression="deflate" if s.compression else None,
            process_request=self._process_request,
            max_size=s.max_message_bytes,
            # One relay-wide keepalive (below) instead of a task per connection.
            ping_interval=None,
            ping_timeout=None,
            close_timeout=s.close_timeout,
            ssl=s.ssl_context,
            origins=None if s.origins is None else [*map(Origin, s.origins), None],
        )
        self.port = self._server.sockets[0].getsockname()[1]
        if s.ping_interval:
            self.spawn(self._keep_alive(s.ping_interval, s.ping_timeout), "keepalive")
        loop_kind = type(asyncio.get_running_loop()).__module__.partition(".")[0]
        logger.info("relay listening on %s (journal %s, event loop %s)", self.url, s.db, loop_kind)

    def _make_broker(self) -> Broker:
        if self.settings.redis_url is None:
            return LocalBroker(self.journal)
        from dispatch_tui.server.redis_broker import RedisBroker

        keep = self.settings.retention.max_messages
        return RedisBroker(self.settings.redis_url, self.journal, keep or 1_000_000)

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """Run a feeder (upstream source, demo) until the relay stops."""
        start_task(work, name, self._background)

    async def stop(self) -> None:
        """Close every client with 1001, then flush and close the journal."""
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        self.pipeline.close()
        self.escalator.close()
        self.hub.broker.begin_closing()
        if self._server is not None:
            self.outbox.flush()
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        await self.hub.broker.stop()
        await asyncio.to_thread(self.journal.close)

    async def _keep_alive(self, interval: float, timeout: float | None) -> None:
        """Ping every client each ``interval``; drop one whose pong is ``timeout`` late.

        One task for the relay, and one short-lived task per ping while it is in
        flight: an idle connection costs no keepalive task of its own.
        """
        hub = self.hub
        while True:
            await asyncio.sleep(interval)
            for session in list(hub.sessions.values()):
                connection: ServerConnection = session.transport
                if connection in self._pinging or connection.protocol.state is not State.OPEN:
                    continue
                self._pinging.add(connection)
                start_task(self._ping(connection, timeout), "keepalive ping", self._pings)

    async def _ping(self, connection: ServerConnection, timeout: float | None) -> None:
        try:
            pong = await connection.ping()
            if timeout is not None:
                async with asyncio.timeout(timeout):
                    await pong
        except TimeoutError:
            logger.info(
                "dropping %s: keepalive ping timeout", format_address(connection.remote_address)
            )
            self.metrics.closed("keepalive")
            connection.transport.abort()
        except ConnectionClosed:
            pass
        finally:
            self._pinging.discard(connection)

    def health(self) -> dict[str, Any]:
        """``/healthz``: ``degraded``, with why, while Redis is away or the journal failed."""
        hub = self.hub
        degraded = self.journal.failure or hub.broker.degraded
        return {
            "status": "ok" if degraded is None else "degraded",
            **({} if degraded is None else {"reason": degraded}),
            "clients": len(hub.sessions),
            "rooms": len(hub.rooms),
            "source": hub.status.source,
            "agent": hub.status.agent,
            "last_seq": self.journal.last_seq,
        }

    def reload_auth(self) -> None:
        """Re-read the auth file; connections whose user or role went away are closed.

        A file that no longer loads is reported and the users already loaded stay.
        """
        if self.settings.auth_file is None:
            return
        try:
            self.auth = Authenticator.from_file(self.settings.auth_file)
        except AuthFileError as exc:
            logger.error("auth file not reloaded, keeping the previous users: %s", exc)
            return
        hub = self.hub
        revoked = 0
        for client_id, (digest, user) in list(self._credentials.items()):
            session = hub.sessions.get(client_id)
            if session is not None and not self.auth.still_valid(digest, user):
                hub.close(session, CloseCode.POLICY_VIOLATION, "credentials revoked")
                revoked += 1
        logger.info("auth file reloaded: %d users, %d connections closed", len(self.auth), revoked)

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path = request.path.split("?", 1)[0]
        if path == "/metrics":
            if not self.settings.metrics:
                return _response(http.HTTPStatus.NOT_FOUND, "metrics are off (--no-metrics)\n")
            return _response(http.HTTPStatus.OK, self.metrics.render(), CONTENT_TYPE)
        if path == "/healthz":
            health = self.health()
            code = (
                http.HTTPStatus.OK
                if health["status"] == "ok"
                else http.HTTPStatus.SERVICE_UNAVAILABLE
            )
            return _response(code, json.dumps(health), "application/json")
        cap = self.settings.max_connections_per_address
        if cap and self._per_address[_host_of(connection)] >= cap:
            logger.warning("refused %s: over %d connections", _host_of(connection), cap)
            return _response(http.HTTPStatus.TOO_MANY_REQUESTS, "too many connections\n")
        header = request.headers.get("Authorization")
        if self.auth is not None and header is not None:
            token = bearer_token(header)
            found = None if token is None else self.auth.identify(token)
            if found is None:
                logger.info("refused %s: invalid token", format_address(connection.remote_address))
                return _response(http.HTTPStatus.UNAUTHORIZED, "invalid token\n")
            self._from_handshake[connection] = found
        return None

    async def _handle_connection(self, connection: ServerConnection) -> None:
        hub = self.hub
        host = _host_of(connection)
        self._per_address[host] += 1
        credentials = self._from_handshake.pop(connection, None)
        # The handshake response (headers and all) was sent and is never read
        # again; an idle connection should not keep it. (The request must stay:
        # websockets tells the handshake from later frames by it.)
        connection.response = None
        session: Session | None = None
        try:
            if self.auth is not None and credentials is None:
                credentials = await self._first_message_auth(connection)
                if credentials is None:
                    return
            address = format_address(connection.remote_address)
            if credentials is None:
                session = hub.connect(address, transport=connection)
            else:
                user = credentials[1]
                session = hub.connect(address, connection, user.name, user.role, user.name)
            if credentials is not None:
                self._credentials[session.client_id] = credentials
            async for frame in connection:
                if isinstance(frame, bytes):
                    self.metrics.closed("binary")
                    self.outbox.flush()
                    await connection.close(
                        CloseCode.UNSUPPORTED_DATA, "binary frames are not supported"
                    )
                    break
                await hub.handle(session, frame)
        except ConnectionClosed as closed:
            if closed.sent is not None and closed.sent.code == CloseCode.MESSAGE_TOO_BIG:
                self.metrics.closed("message_too_big")
        finally:
            self._per_address[host] -= 1
            if not self._per_address[host]:
                del self._per_address[host]
            if session is not None:
                self._credentials.pop(session.client_id, None)
                hub.disconnect(session)

    async def _first_message_auth(self, connection: ServerConnection) -> tuple[str, User] | None:
        """A browser's first frame must be ``auth`` with a valid token, in time; else 1008."""
        assert self.auth is not None
        try:
            frame = await asyncio.wait_for(connection.recv(), self.settings.auth_timeout)
        except TimeoutError:
            self.metrics.closed("auth")
            await _deny(connection, "authentication required: send auth with a token first")
            return None
        except ConnectionClosed:
            return None
        token = _auth_token(frame)
        found = None if token is None else self.auth.identify(token)
        if found is None:
            reason = "invalid token" if token is not None else "authentication required"
            logger.info("refused %s: %s", format_address(connection.remote_address), reason)
            self.metrics.closed("auth")
            await _deny(connection, reason)
        return found


def _host_of(connection: ServerConnection) -> str:
    remote = connection.remote_address
    return str(remote[0]) if isinstance(remote, tuple) else str(remote)


def _response(
    status: http.HTTPStatus, body: str | bytes, content_type: str = "text/plain"
) -> Response:
    data = body.encode() if isinstance(body, str) else body
    headers = Headers([("Content-Type", content_type), ("Content-Length", str(len(data)))])
    return Response(status.value, status.phrase, headers, data)


def _auth_token(frame: str | bytes) -> str | None:
    """The token of an ``{"event": "auth", "data": {"token": ...}}`` frame, else None."""
    if isinstance(frame, bytes):
        return None
    try:
        message = json.loads(frame)
    except ValueError:
        return None
    if not isinstance(message, dict) or message.get("event") != "auth":
        return None
    data = message.get("data")
    token = data.get("token") if isinstance(data, dict) else None
    return token if isinstance(token, str) and token else None


async def _deny(connection: ServerConnection, reason: str) -> None:
    """Say why in an ``error`` (browsers show it), then close with 1008."""
    error = p.ProtocolError(p.ErrorCode.FORBIDDEN, reason, "auth")
    try:
        await connection.send(error_event(error).decode())
        await connection.close(CloseCode.POLICY_VIOLATION, reason)
    except ConnectionClosed:
        pass


async def run_until_signalled(
    relay: Relay, on_started: Callable[[Relay], None] | None = None
) -> None:
    """Serve until SIGINT or SIGTERM, then stop gracefully.

    Prints the startup line docs/cli.md promises once connections are accepted.
    """
    import signal
    import sys

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    loop.add_signal_handler(signal.SIGHUP, relay.reload_auth)
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
