"""The one async client of the relay, used by the CLI and the console.

It connects with one URL, or several naming the relays of one cluster, a
token and a name; matches replies to requests by ``id``; hands every other
event to :meth:`DispatchClient.events`; and, when asked to, reconnects and
resumes from the last ``seq`` it saw in each stream through ``history``, so
that nothing sent while it was away is missed and nothing is shown twice. A
lost relay is left for the next URL at once; the jittered exponential backoff
only starts once every URL has failed in a row.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import ssl
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from dispatch_tui import backoff, redact
from dispatch_tui import events as ev

logger = logging.getLogger(__name__)
redact.install()

AnswerT = TypeVar("AnswerT", bound=ev.Event)

_HISTORY_PAGE = 500
_MAX_RECOVERY_PAGES = 20


class ClientError(Exception):
    """Base of everything the client raises."""


class ConnectionFailed(ClientError):
    """The relay could not be reached, or the connection was lost."""


class UnreadableReply(ConnectionFailed):
    """The relay answered with something the protocol does not allow there."""


class ServerRefused(ClientError):
    """The relay answered a request with ``error`` or refused the connection."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def expect(reply: dict[str, Any], answer: type[AnswerT]) -> AnswerT:
    """A reply read as the event it must be, or :class:`UnreadableReply`."""
    event = ev.parse_event(reply)
    if not isinstance(event, answer):
        raise UnreadableReply(
            f"the relay answered {str(reply.get('event'))[:64]!r} where "
            f"{answer.event_name.value} was due, or sent it malformed"
        )
    return event


class LinkState(StrEnum):
    """What the console's status bar shows about the connection."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    RECOVERED = "recovered"
    GAP = "gap"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Backoff:
    """The waits between rounds of reconnect attempts: exponential, capped, equal jitter."""

    initial: float = 0.25
    factor: float = 2.0
    maximum: float = 15.0

    def delays(self) -> Iterator[float]:
        """A fresh series of waits, the first one the shortest."""
        return backoff.delays(self.initial, self.maximum, self.factor)


class DispatchClient:
    """A connection to the relay that can survive the relay going away."""

    def __init__(
        self,
        url: str | Sequence[str],
        *,
        token: str | None = None,
        name: str | None = None,
        reconnect: bool = False,
        ssl_context: ssl.SSLContext | None = None,
        backoff: Backoff | None = None,
        open_timeout: float = 10.0,
        on_state: Callable[[LinkState], None] | None = None,
    ) -> None:
        #: The relays to use, in the order they are tried.
        self.urls: tuple[str, ...] = (url,) if isinstance(url, str) else tuple(url)
        if not self.urls:
            raise ValueError("DispatchClient needs at least one relay URL")
        self._current = 0
        self.token = token
        self.name = name
        self.reconnect = reconnect
        self.ssl_context = ssl_context
        self.backoff = backoff or Backoff()
        self.open_timeout = open_timeout
        self.on_state = on_state
        self.state = LinkState.CONNECTING
        #: The relay's greeting on the current connection.
        self.welcome: ev.Welcome | None = None
        self.rooms: dict[str, None] = {}
        self.last_seq: dict[str | None, int] = {}
        self._ids = itertools.count(1)
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._events: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._connection: ClientConnection | None = None
        self._runner: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._closing = False
        #: Why the connection ended, when it ended without :meth:`close`.
        self.lost_reason: str | None = None
        #: Live stream events that arrive while missed ones are being replayed.
        self._held: list[dict[str, Any]] = []

    async def __aenter__(self) -> DispatchClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def url(self) -> str:
        """The relay in use, or being tried: what the console's status bar names."""
        return self.urls[self._current]

    async def connect(self) -> None:
        """Open the first connection, trying each URL once in turn.

        Raises :class:`ConnectionFailed` when none answers, and
        :class:`ServerRefused` at once on a refusal: the relays of one cluster
        share their users, so another one would refuse too.
        """
        failures: list[str] = []
        for _ in self.urls:
            connection = None
            try:
                connection = await self._open()
                await self._greet(connection)
                break
            except ClientError as exc:
                if connection is not None:
                    await connection.close()
                if not isinstance(exc, ConnectionFailed):
                    raise
                failures.append(str(exc))
                self._advance()
        else:
            raise ConnectionFailed("; ".join(failures))
        self._set_state(LinkState.CONNECTED)
        self._runner = asyncio.create_task(self._run(connection), name="dispatch-client")
        if self.name:
            await self.request("identify", {"name": self.name})

    async def close(self) -> None:
        self._closing = True
        if self._connection is not None:
            await self._connection.close()
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
        self._set_state(LinkState.CLOSED)
        self._events.put_nowait(None)

    async def failover(self, *, replay: bool = True) -> None:
        """Leave the current relay for the next one that answers, trying each other once.

        For clients that do not reconnect by themselves but want to carry on
        after losing their relay (``dispatch send``): name and rooms are
        restored and, unless ``replay`` is false (a publisher reads no
        events), missed events are replayed as after a reconnect. Raises
        :class:`ConnectionFailed` when no other relay answers.
        """
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
        lost = self._connection
        self._connection = None
        self._connected.clear()
        if lost is not None:
            self._fail_pending(lost)
            await lost.close()
        left = self.url
        for _ in range(len(self.urls) - 1):
            self._advance()
            connection = await self._resume(replay)
            if connection is not None:
                logger.info("moved from %s to %s", left, self.url)
                self.lost_reason = None
                self._runner = asyncio.create_task(self._run(connection), name="dispatch-client")
                return
        self._advance()
        self._set_state(LinkState.CLOSED)
        raise ConnectionFailed(f"no other relay answered after {left} was lost")

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        """Every event that is not a reply to this client's own requests."""
        while True:
            event = await self._events.get()
            if event is None:
                return
            yield event

    async def request(
        self, event: str, data: dict[str, Any] | None = None, timeout: float = 15.0
    ) -> dict[str, Any]:
        """Send one request and return its reply; ``error`` raises :class:`ServerRefused`."""
        if self._connection is None or not self._connected.is_set():
            raise ConnectionFailed(f"not connected to {self.url}")
        request_id = f"r{next(self._ids)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        message: dict[str, Any] = {"event": event, "id": request_id}
        if data is not None:
            message["data"] = data
        try:
            await self._connection.send(json.dumps(message, ensure_ascii=False))
            reply = await asyncio.wait_for(future, timeout)
        except ConnectionClosed as exc:
            raise ConnectionFailed(f"connection lost: {_describe_close(exc)}") from None
        except TimeoutError:
            raise ConnectionFailed(f"no reply to {event} within {timeout:g} s") from None
        finally:
            self._pending.pop(request_id, None)
        if reply.get("event") == ev.EventName.ERROR:
            error = reply.get("data")
            error = error if isinstance(error, dict) else {}
            raise ServerRefused(str(error.get("code")), str(error.get("message")))
        answer = ev.parse_event(reply)
        if isinstance(answer, ev.Sent):
            self._track(answer)
        return reply

    async def join(self, room: str) -> ev.RoomJoined:
        """Join a room; it is joined again after every reconnect."""
        reply = expect(await self.request("join_room", {"room_name": room}), ev.RoomJoined)
        self.rooms[room] = None
        return reply

    async def leave(self, room: str) -> ev.RoomLeft:
        reply = expect(await self.request("leave_room", {"room_name": room}), ev.RoomLeft)
        self.rooms.pop(room, None)
        return reply

    async def send_to_room(self, room: str, message: Any) -> ev.Sent:
        reply = await self.request("send_to_room", {"room_name": room, "message": message})
        return expect(reply, ev.Sent)

    async def send_to_all(self, message: Any) -> ev.Sent:
        return expect(await self.request("send_to_all", {"message": message}), ev.Sent)

    async def list_rooms(self) -> ev.RoomsList:
        return expect(await self.request("list_rooms"), ev.RoomsList)

    async def list_clients(self, room: str | None = None) -> ev.ClientsList:
        data = None if room is None else {"room_name": room}
        return expect(await self.request("list_clients", data), ev.ClientsList)

    async def history(
        self, room: str | None = None, since: int | None = None, limit: int | None = None
    ) -> ev.History:
        data: dict[str, Any] = {}
        if room is not None:
            data["room_name"] = room
        if since is not None:
            data["since"] = since
        if limit is not None:
            data["limit"] = limit
        return expect(await self.request("history", data), ev.History)

    def _advance(self) -> None:
        self._current = (self._current + 1) % len(self.urls)

    def _set_state(self, state: LinkState) -> None:
        if state is self.state:
            return
        self.state = state
        if self.on_state is not None:
            self.on_state(state)

    async def _open(self) -> ClientConnection:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else None
        # wss:// without a context of our own uses the system's trusted CAs.
        tls: dict[str, Any] = {}
        if self.ssl_context is not None and self.url.startswith("wss:"):
            tls["ssl"] = self.ssl_context
        try:
            return await connect(
                self.url,
                additional_headers=headers,
                open_timeout=self.open_timeout,
                compression=None,
                max_size=None,
                **tls,
            )
        except InvalidURI as exc:
            raise ConnectionFailed(f"invalid relay URL {self.url!r}: {exc}") from None
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in (401, 403):
                raise ServerRefused(
                    "forbidden", f"relay refused the connection ({status})"
                ) from None
            raise ConnectionFailed(f"relay at {self.url} answered HTTP {status}") from None
        except (OSError, InvalidHandshake, TimeoutError, ConnectionClosed) as exc:
            raise ConnectionFailed(f"cannot connect to {self.url}: {_reason(exc)}") from None

    async def _greet(self, connection: ClientConnection) -> None:
        """Read the relay's ``welcome``; a refusal raises :class:`ServerRefused`."""
        try:
            greeting = json.loads(await asyncio.wait_for(connection.recv(), self.open_timeout))
        except ConnectionClosed as exc:
            if exc.rcvd is not None and exc.rcvd.code == 1008:
                raise ServerRefused("forbidden", exc.rcvd.reason or "access denied") from None
            raise ConnectionFailed(f"connection lost: {_describe_close(exc)}") from None
        except TimeoutError:
            raise ConnectionFailed(f"no welcome from {self.url}") from None
        welcome = ev.parse_event(greeting) if isinstance(greeting, dict) else None
        if isinstance(welcome, ev.Error):
            raise ServerRefused(welcome.code, welcome.message)
        if not isinstance(welcome, ev.Welcome):
            raise ConnectionFailed(f"{self.url} did not greet with welcome")
        self.welcome = welcome
        self._connection = connection
        self._connected.set()

    async def _run(self, connection: ClientConnection) -> None:
        while True:
            try:
                async for frame in connection:
                    self._dispatch(json.loads(frame))
            except ConnectionClosed:
                pass
            self._connected.clear()
            self._fail_pending(connection)
            if not self._closing:
                self.lost_reason = _describe_close(connection.close_exc)
            if self._closing or not self.reconnect:
                self._set_state(LinkState.CLOSED)
                self._events.put_nowait(None)
                return
            connection = await self._reconnect()

    async def _reconnect(self) -> ClientConnection:
        """Go round the URLs, starting after the lost one, until one lets us resume.

        The lost relay counts as the first failure of a round, so the next
        relay is tried at once; the backoff delay comes before each new round,
        which with a single URL is before every attempt.
        """
        self._set_state(LinkState.RECONNECTING)
        lost = self._current
        waits = self.backoff.delays()
        while True:
            for _ in self.urls:
                self._advance()
                if self._current == lost:
                    await asyncio.sleep(next(waits))
                connection = await self._resume()
                if connection is not None:
                    return connection

    async def _resume(self, replay: bool = True) -> ClientConnection | None:
        """One attempt on the current URL: connect, rejoin, replay; None if it failed.

        Live stream events that arrive during the replay are held back until
        it is done, so that an older replayed event is not taken for a
        duplicate of a newer live one.
        """
        connection = None
        try:
            connection = await self._open()
            await self._greet(connection)
        except ClientError as exc:
            logger.info("cannot resume on %s: %s", self.url, exc)
            if connection is not None:
                await connection.close()
            return None
        recovery = asyncio.create_task(self._recover(replay))
        try:
            async for frame in _until(connection, recovery):
                self._dispatch(json.loads(frame), hold=True)
        except ConnectionClosed:
            recovery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await recovery
            self._connected.clear()
            self._fail_pending(connection)
            logger.info("lost %s while resuming", self.url)
            return None
        # A frame read in the same turn as the recovery ended was held after the release.
        self._release_held()
        return connection

    async def _recover(self, replay: bool = True) -> None:
        """Rejoin rooms and replay what was missed; ``gap`` if that fails."""
        complete = True
        try:
            if self.name:
                await self.request("identify", {"name": self.name})
            for room in list(self.rooms):
                await self.request("join_room", {"room_name": room})
            for stream in [None, *self.rooms] if replay else []:
                complete &= await self._replay(stream)
        except ClientError as exc:
            logger.warning("recovery after reconnect failed: %s", exc)
            complete = False
        self._release_held()
        self._set_state(LinkState.RECOVERED if complete else LinkState.GAP)

    def _release_held(self) -> None:
        """Pass on the live events held back during a replay (replayed copies are dropped)."""
        held, self._held = self._held, []
        for event in held:
            self._emit(event)

    async def _replay(self, stream: str | None) -> bool:
        since = self.last_seq.get(stream, 0)
        for _ in range(_MAX_RECOVERY_PAGES):
            page = await self.history(stream, since=since, limit=_HISTORY_PAGE)
            for event in page.messages:
                self._emit(event)
            since = self.last_seq.get(stream, since)
            if not page.has_more:
                return True
        return False

    def _dispatch(self, message: dict[str, Any], hold: bool = False) -> None:
        request_id = message.get("id")
        if isinstance(request_id, str) and request_id in self._pending:
            future = self._pending[request_id]
            if not future.done():
                future.set_result(message)
            return
        if hold and message.get("event") in ev.STREAMED:
            self._held.append(message)
            return
        if message.get("event") == ev.EventName.WELCOME:
            return
        self._emit(message)

    def _emit(self, event: dict[str, Any]) -> None:
        """Queue one event unless its ``seq`` was already seen in its stream."""
        position = ev.stream_position(event)
        if position is not None:
            stream, seq = position
            if seq <= self.last_seq.get(stream, 0):
                return
            self.last_seq[stream] = seq
        self._events.put_nowait(event)

    def _track(self, sent: ev.Sent) -> None:
        """Own messages are not echoed back: remember their ``seq`` from ``sent``."""
        self.last_seq[sent.room] = max(sent.seq, self.last_seq.get(sent.room, 0))

    def _fail_pending(self, connection: ClientConnection) -> None:
        reason = _describe_close(connection.close_exc) if connection.close_exc else "closed"
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionFailed(f"connection lost: {reason}"))


async def _until(connection: ClientConnection, task: asyncio.Task[None]) -> AsyncIterator[str]:
    """Frames from ``connection`` until ``task`` is done."""
    while not task.done():
        receiving = asyncio.ensure_future(connection.recv())
        done, _ = await asyncio.wait({receiving, task}, return_when=asyncio.FIRST_COMPLETED)
        if receiving in done:
            yield str(receiving.result())
        else:
            receiving.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                await receiving


def _describe_close(exc: ConnectionClosed | None) -> str:
    if exc is None:
        return "closed"
    frame = exc.rcvd or exc.sent
    if frame is None:
        return "closed without a close frame"
    return f"closed with {frame.code} {frame.reason}".rstrip()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
