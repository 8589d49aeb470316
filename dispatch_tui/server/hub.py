"""Rooms, presence and request handling, with no sockets.

The hub turns each client request into replies and deliveries. It writes
through an :class:`Outbox`, which the socket layer implements (and tests can
fake), so everything here is exercised without a network.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import ValidationError

from dispatch_tui import events as ev
from dispatch_tui import protocol as p
from dispatch_tui.server.auth import OPEN_ROLE, Role
from dispatch_tui.server.broker import Broker, BrokerUnavailable, Delivery, Outgoing, Presence
from dispatch_tui.server.journal import Entry, Journal, JournalError
from dispatch_tui.server.metrics import RelayMetrics
from dispatch_tui.vocabulary import TranscriptSegment

logger = logging.getLogger(__name__)

#: History replies are cut at this many bytes of messages (``has_more`` set).
HISTORY_MAX_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class RateLimit:
    """How fast one connection may send, and how much flooding is borne before it is closed.

    Each connection has a token bucket of ``burst`` messages refilled at
    ``per_second``. A message over it is answered ``rate_limited`` and dropped;
    a connection that keeps going (more than ``strikes`` refused messages,
    forgiven at a tenth of that per second) is closed with 1008.
    """

    per_second: float = 500.0
    burst: int = 1000
    strikes: int = 100


@dataclass(slots=True)
class TokenBucket:
    """``capacity`` tokens refilled at ``rate`` per second; one per allowed event."""

    rate: float
    capacity: float
    tokens: float = -1.0
    stamp: float = 0.0

    def take(self, now: float) -> bool:
        if self.tokens < 0:
            self.tokens, self.stamp = self.capacity, now
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


@dataclass(eq=False, slots=True)
class Session:
    """One connected client, as the hub sees it."""

    client_id: str
    address: str
    name: str | None = None
    role: Role = OPEN_ROLE
    user: str | None = None
    #: Joined rooms, oldest first; the last one is the one joined most recently.
    rooms: dict[str, None] = field(default_factory=dict)
    transport: Any = None
    messages: TokenBucket | None = None
    strikes: TokenBucket | None = None
    closing: bool = False

    @property
    def latest_room(self) -> str | None:
        return next(reversed(self.rooms), None)


class Outbox(Protocol):
    """Writes encoded frames to sessions; implemented by the socket layer."""

    def send(self, sessions: Collection[Session], payload: bytes) -> int:
        """Queue ``payload`` for each session, written soon, in order; returns how many."""

    def close(self, session: Session, code: int, reason: str) -> None:
        """Close one session's connection."""


@dataclass(frozen=True, slots=True)
class Ack:
    """How the sender of a message hears of it: ``stored(seq, recipients)`` once
    it is durable, ``failed(reason)`` if the journal could not commit it."""

    stored: Callable[[int, int], None]
    failed: Callable[[str], None]


#: Takes one transcript fragment and its ack; False when it added nothing.
TranscriptSink = Callable[[TranscriptSegment, Ack], Awaitable[bool]]
#: Told of every ``advice_acknowledged`` (call id, advice seq), this relay's or another's.
AckListener = Callable[[str, int | None], None]


class Hub:
    """Rooms and presence for one relay, and the handling of every request."""

    def __init__(
        self,
        outbox: Outbox,
        journal: Journal,
        broker: Broker,
        *,
        server_name: str = "dispatch",
        rate_limit: RateLimit | None = None,
        metrics: RelayMetrics | None = None,
        calls_room: str | None = None,
        status: ev.Status | None = None,
    ) -> None:
        self.outbox = outbox
        self.metrics = metrics or RelayMetrics()
        self.metrics.connections.set_function(lambda: len(self.sessions))
        self.metrics.rooms.set_function(lambda: len(self.rooms))
        self.rate_limit = rate_limit
        self.journal = journal
        self.broker = broker
        self.server_name = server_name
        self.sessions: dict[str, Session] = {}
        self.rooms: dict[str, dict[str, Session]] = {}
        self.status = status or ev.Status()
        #: Where claims and acknowledgements go: the suggestions room (None: every client).
        self.calls_room = calls_room
        self._transcript_sink: TranscriptSink | None = None
        self._ack_listener: AckListener | None = None
        #: Own messages journaled when sent, whose copy from the shared log is not due yet.
        self._journaled_own: set[int] = set()
        #: The highest ``seq`` received from the shared log.
        self._log_seen = 0
        #: Acks held until the sender's own copy has come back from the shared log.
        self._after_own_copy: dict[int, Callable[[], None]] = {}
        broker.attach(self)
        #: The one table from each request model to what does it.
        self._handlers: dict[type[Any], Callable[[Session, Any, p.Request], Awaitable[None]]] = {
            p.SendToAll: self._send_to_all,
            p.JoinRoom: self._join_room,
            p.SendToRoom: self._send_to_room,
            p.LeaveRoom: self._leave_room,
            p.ListRooms: self._list_rooms,
            p.ListClients: self._list_clients,
            p.Identify: self._identify,
            p.HistoryRequest: self._history,
            p.PublishTranscript: self._publish_transcript,
            p.Auth: self._auth_again,
            p.ClaimCall: self._claim_call,
            p.AcknowledgeAdvice: self._acknowledge_advice,
        }

    def take_calls(self, transcript_sink: TranscriptSink, ack_listener: AckListener) -> None:
        """Hand ``publish_transcript`` to the call pipeline and acknowledgements to the escalator.

        Both publish through this hub, so they are made after it and given to it here.
        """
        self._transcript_sink = transcript_sink
        self._ack_listener = ack_listener

    def connect(
        self,
        address: str,
        transport: Any = None,
        name: str | None = None,
        role: Role = OPEN_ROLE,
        user: str | None = None,
    ) -> Session:
        """Register a client and greet it with ``welcome`` and ``status``."""
        session = Session(uuid.uuid4().hex[:12], address, name, role, user, transport=transport)
        if self.rate_limit is not None:
            limit = self.rate_limit
            session.messages = TokenBucket(limit.per_second, limit.burst)
            session.strikes = TokenBucket(limit.strikes / 10, limit.strikes)
        self.sessions[session.client_id] = session
        welcome = ev.Welcome(
            client_id=session.client_id,
            address=address,
            name=name,
            role=role.name,
            server=self.server_name,
            protocol=p.PROTOCOL_VERSION,
        )
        self.reply(session, welcome)
        self.reply(session, self.status)
        self.broker.touch_presence()
        return session

    def disconnect(self, session: Session) -> None:
        """Forget a client; it leaves every room at once."""
        for room in list(session.rooms):
            self._remove_member(session, room)
        self.sessions.pop(session.client_id, None)
        self.broker.touch_presence()

    def reply(self, session: Session, event: ev.Event, request_id: str | int | None = None) -> None:
        self.outbox.send((session,), ev.encode_event(event, request_id))

    async def handle(self, session: Session, text: str | bytes) -> None:
        """Do one request; a bad one becomes an ``error`` reply to its sender.

        Every ``error`` carries the request's ``id`` when the frame had one.
        """
        flooding = session.messages is not None and not session.messages.take(time.monotonic())
        request: p.Request | None = None
        try:
            request = p.parse_request(text)
            self.metrics.request(request.event)
            if flooding:
                self._refuse_flood(session, request.event, request.id)
                return
            handler = self._handlers[type(request.data)]
            await handler(session, request.data, request)
        except p.ProtocolError as error:
            if request is None:
                self.metrics.request(None)
            if flooding:
                self._refuse_flood(session, error.event, error.request_id)
                return
            self.send_error(session, error)
        except (BrokerUnavailable, JournalError) as exc:
            assert request is not None
            logger.warning(
                "%s from %s not done: %s",
                request.event,
                session.client_id,
                exc,
                extra={
                    "client_id": session.client_id,
                    "event": request.event,
                    "code": "unavailable",
                },
            )
            refusal = p.ProtocolError(p.ErrorCode.UNAVAILABLE, str(exc), request.event, request.id)
            self.send_error(session, refusal)

    def _refuse_flood(
        self, session: Session, event: str | None, request_id: str | int | None
    ) -> None:
        """``rate_limited`` for a message over the limit; 1008 for a client that keeps on."""
        if session.closing:
            return
        assert session.strikes is not None
        if session.strikes.take(time.monotonic()):
            error = p.ProtocolError(
                p.ErrorCode.RATE_LIMITED, "too many messages: slow down", event, request_id
            )
            self.send_error(session, error)
            return
        logger.warning(
            "closing %s (%s): rate limit exceeded",
            session.client_id,
            session.address,
            extra={"client_id": session.client_id, "code": 1008, "reason": "rate_limit"},
        )
        self.close(session, p.CloseCode.POLICY_VIOLATION, "rate limit exceeded")

    def send_error(self, session: Session, error: p.ProtocolError) -> None:
        """An ``error`` reply, counted by code."""
        self.metrics.error(str(error.code))
        self.outbox.send((session,), ev.error_event(error))

    def close(self, session: Session, code: int, reason: str) -> None:
        """Close one client's connection once; it leaves its rooms when the socket ends."""
        if not session.closing:
            session.closing = True
            self.metrics.closed(_CLOSE_REASONS.get(reason, "other"))
            self.outbox.close(session, code, reason)

    def set_status(self, **changes: str | None) -> None:
        """Update source/agent/Redis state and tell every client when it changed.

        The hub owns the relay's :class:`~dispatch_tui.events.Status`: the
        source, the agent's health and the broker report here, nowhere else.
        """
        updated = self.status.model_copy(update=changes)
        if updated == self.status:
            return
        self.status = updated
        self.metrics.status(updated)
        self.outbox.send(list(self.sessions.values()), ev.encode_event(updated))

    def deliver(self, delivery: Delivery) -> int:
        """Queue one message for its local recipients; returns how many."""
        members = self.sessions if delivery.room is None else self.rooms.get(delivery.room, {})
        recipients = list(members.values())
        excluded = members.get(delivery.exclude) if delivery.exclude is not None else None
        if excluded is not None:
            recipients.remove(excluded)
        written = self.outbox.send(recipients, delivery.payload)
        self.metrics.deliveries.inc(written)
        return written

    def receive(self, delivery: Delivery) -> None:
        """One entry of the shared log (any relay's): deliver it here and journal it."""
        self.deliver(delivery)
        self._log_seen = max(self._log_seen, delivery.seq)
        if delivery.event == ev.EventName.ADVICE_ACKNOWLEDGED and self._ack_listener is not None:
            acknowledged = _acknowledged_advice(delivery.payload)
            if acknowledged is not None:
                self._ack_listener(acknowledged.call_id, acknowledged.advice_seq)
        if self._after_own_copy:
            for seq in [seq for seq in self._after_own_copy if seq <= delivery.seq]:
                self._after_own_copy.pop(seq)()
        entry = Entry(delivery.seq, delivery.room, delivery.event, delivery.payload)
        try:
            if delivery.seq in self._journaled_own:
                # This relay's own message, queued for the journal when it was sent.
                self._journaled_own.discard(delivery.seq)
                self.journal.advance_cursor(delivery.seq)
            else:
                self.journal.append(entry, from_log=True)
        except JournalError as exc:
            logger.error("seq %d not journaled: %s", delivery.seq, exc, extra={"seq": delivery.seq})

    def presence(self) -> Presence:
        """This relay's clients and room counts, for the other relays."""
        clients = {s.client_id: _client_fields(s) for s in self.sessions.values()}
        return Presence(clients, self._local_room_counts())

    def journal_failed(self, reason: str) -> None:
        """The journal cannot store messages any more: every client is told, sends are refused."""
        self.set_status(journal="failed", journal_detail=reason)

    def broker_state(self, available: bool, detail: str | None) -> None:
        """Tell every client whether messages can be stored (Redis reachable)."""
        self.set_status(redis="connected" if available else "unavailable", redis_detail=detail)

    def _local_room_counts(self) -> dict[str, int]:
        return {name: len(members) for name, members in self.rooms.items() if members}

    def _local_recipients(self, room: str | None, exclude: str | None) -> int:
        members = self.sessions if room is None else self.rooms.get(room, {})
        return len(members) - (exclude is not None and exclude in members)

    async def publish(
        self,
        build: Callable[[int, str], ev.Event],
        *,
        room: str | None,
        exclude: str | None = None,
        ack: Ack | None = None,
    ) -> int:
        """Number, journal and fan out one message; returns its ``seq``.

        ``build(seq, ts)`` makes the event. ``ack.stored(seq, recipients)``
        runs once the journal has committed it (and, on a cluster, the shared
        log holds it). Raises :class:`BrokerUnavailable` when it cannot be
        stored, and :class:`JournalError` (nothing delivered) once the journal
        has failed.
        """
        if self.journal.failure is not None:
            raise JournalError(self.journal.failure)
        ts = p.now_iso()
        template = ev.SeqTemplate.encode(lambda seq: build(seq, ts))
        event = template.event
        appended = await self.broker.append(Outgoing(template, room, exclude, event))
        self.metrics.relayed.labels(event).inc()
        delivery = appended.delivery
        if self.broker.delivers:
            recipients = self._local_recipients(room, exclude) + appended.remote_recipients
        else:
            recipients = self.deliver(delivery)
        seq = delivery.seq
        entry = Entry(seq, room, event, delivery.payload)
        if ack is None:
            self.journal.append(entry)
        else:
            self.journal.append(entry, lambda: ack.stored(seq, recipients), on_failed=ack.failed)
        if self.broker.delivers and seq > self._log_seen:
            self._journaled_own.add(seq)
        return seq

    def _check_room(self, session: Session, room: str, request: p.Request) -> None:
        if not session.role.may_enter(room):
            raise _forbidden(session, f"use room {room!r}", request)

    def _ack(self, session: Session, request: p.Request, extra: dict[str, Any]) -> Ack:
        def send_ack(seq: int, recipients: int) -> None:
            self.reply(session, ev.Sent(recipients=recipients, seq=seq, **extra), request.id)

        def refuse(reason: str) -> None:
            error = p.ProtocolError(
                p.ErrorCode.UNAVAILABLE, f"not stored: {reason}", request.event, request.id
            )
            self.send_error(session, error)

        return Ack(send_ack, refuse)

    def _ack_after_own_copy(
        self, session: Session, request: p.Request, extra: dict[str, Any]
    ) -> Ack:
        """The ack of a message its sender receives too: never ahead of that copy.

        On a cluster the copy comes back from the shared log, which may be read
        after the journal committed; a client that takes ``sent`` for its own
        message would then drop the copy as already seen.
        """
        ack = self._ack(session, request, extra)

        def when_copied(seq: int, recipients: int) -> None:
            if self.broker.delivers and seq > self._log_seen:
                self._after_own_copy[seq] = lambda: ack.stored(seq, recipients)
            else:
                ack.stored(seq, recipients)

        return Ack(when_copied, ack.failed)

    async def _send_to_all(self, session: Session, data: p.SendToAll, request: p.Request) -> None:
        if not session.role.broadcast:
            raise _forbidden(session, "send to all", request)
        await self._publish_chat(session, request, data.message, None)

    async def _send_to_room(self, session: Session, data: p.SendToRoom, request: p.Request) -> None:
        self._check_room(session, data.room_name, request)
        await self._publish_chat(session, request, data.message, data.room_name)

    async def _publish_chat(
        self, session: Session, request: p.Request, message: Any, room: str | None
    ) -> None:
        """A ``client_message`` to a room's other members, or (``room`` None) to everyone else."""
        broadcast = True if room is None else None
        where: dict[str, Any] = {"broadcast": True} if room is None else {"room": room}
        await self.publish(
            lambda seq, ts: ev.ClientMessage(
                sender=session.address,
                message=message,
                broadcast=broadcast,
                room=room,
                name=session.name,
                client_id=session.client_id,
                seq=seq,
                ts=ts,
            ),
            room=room,
            exclude=session.client_id,
            ack=self._ack(session, request, where),
        )

    async def _join_room(self, session: Session, data: p.JoinRoom, request: p.Request) -> None:
        room = data.room_name
        self._check_room(session, room, request)
        session.rooms.pop(room, None)
        session.rooms[room] = None
        members = self.rooms.setdefault(room, {})
        members[session.client_id] = session
        await self.broker.presence_changed()
        clients = len(members) + await self._remote_count(room)
        self.reply(session, ev.RoomJoined(room_name=room, clients=clients), request.id)

    async def _leave_room(self, session: Session, data: p.LeaveRoom, request: p.Request) -> None:
        room = data.room_name if data.room_name is not None else session.latest_room
        if room is None or room not in session.rooms:
            what = "any room" if room is None else f"room {room!r}"
            raise p.ProtocolError(
                p.ErrorCode.NOT_FOUND, f"not in {what}", request.event, request.id
            )
        remaining = self._remove_member(session, room)
        await self.broker.presence_changed()
        remaining += await self._remote_count(room)
        self.reply(session, ev.RoomLeft(room_name=room, clients=remaining), request.id)

    def _remove_member(self, session: Session, room: str) -> int:
        session.rooms.pop(room, None)
        members = self.rooms.get(room)
        if members is None:
            return 0
        members.pop(session.client_id, None)
        if not members:
            del self.rooms[room]
        return len(members)

    async def _remote_count(self, room: str) -> int:
        remote = await self.broker.remote_presence(with_clients=False)
        return sum(presence.rooms.get(room, 0) for presence in remote or ())

    async def _list_rooms(self, session: Session, data: p.ListRooms, request: p.Request) -> None:
        """Member counts over every relay of the cluster (``partial`` if some are unknown)."""
        rooms = self._local_room_counts()
        remote = await self.broker.remote_presence(with_clients=False)
        for presence in remote or ():
            for name, count in presence.rooms.items():
                if count > 0:
                    rooms[name] = rooms.get(name, 0) + count
        partial = True if remote is None else None
        self.reply(session, ev.RoomsList(rooms=rooms, partial=partial), request.id)

    async def _list_clients(
        self, session: Session, data: p.ListClients, request: p.Request
    ) -> None:
        """Clients on every relay of the cluster (``partial`` if some are unknown)."""
        if data.room_name is None:
            listed: Iterable[Session] = self.sessions.values()
        else:
            listed = self.rooms.get(data.room_name, {}).values()
        clients = [ev.ClientEntry(**_client_fields(s)) for s in listed]
        remote = await self.broker.remote_presence()
        for presence in remote or ():
            clients.extend(
                _remote_entries(presence.clients.values(), data.room_name),
            )
        partial = True if remote is None else None
        self.reply(session, ev.ClientsList(clients=clients, partial=partial), request.id)

    async def _identify(self, session: Session, data: p.Identify, request: p.Request) -> None:
        """Sets the display name; an authenticated user keeps the auth file's name."""
        if session.user is None:
            session.name = data.name
            self.broker.touch_presence()
        self.reply(
            session, ev.Identified(name=session.name, client_id=session.client_id), request.id
        )

    async def _history(self, session: Session, data: p.HistoryRequest, request: p.Request) -> None:
        if data.room_name is not None:
            self._check_room(session, data.room_name, request)
        page = await self.journal.read(data.room_name, data.since, data.limit, HISTORY_MAX_BYTES)
        self.metrics.history_reads.inc()
        frame = ev.encode_history(data.room_name, page.payloads, page.has_more, request.id)
        self.outbox.send((session,), frame)

    async def _publish_transcript(
        self, session: Session, data: p.PublishTranscript, request: p.Request
    ) -> None:
        if not session.role.publish:
            raise _forbidden(session, "publish transcripts", request)
        if self._transcript_sink is None:
            raise p.ProtocolError(
                p.ErrorCode.NOT_FOUND, "this relay takes no transcripts", request.event, request.id
            )
        segment = TranscriptSegment(
            call_id=data.call_id,
            text=data.text,
            is_final=data.is_final,
            speaker=data.speaker,
            segment_id=data.segment_id,
        )
        ack = self._ack(session, request, {})
        if not await self._transcript_sink(segment, ack):
            # Nothing new (an empty or repeated fragment): nothing was stored.
            self.reply(session, ev.Sent(recipients=0, seq=0, merged=True), request.id)

    def _check_calls_room(self, session: Session, request: p.Request) -> str | None:
        room = self.calls_room
        if room is not None:
            self._check_room(session, room, request)
        return room

    async def _claim_call(self, session: Session, data: p.ClaimCall, request: p.Request) -> None:
        """Published to the call's room, the sender included: every console shows who has it."""
        mark = {"claimed": not data.release}
        await self._publish_call_mark(session, request, ev.CallClaimed, data.call_id, mark)

    async def _acknowledge_advice(
        self, session: Session, data: p.AcknowledgeAdvice, request: p.Request
    ) -> None:
        """Like a claim; once published it also stops the call's escalation."""
        mark = {"advice_seq": data.advice_seq}
        await self._publish_call_mark(session, request, ev.AdviceAcknowledged, data.call_id, mark)
        if self._ack_listener is not None:
            self._ack_listener(data.call_id, data.advice_seq)

    async def _publish_call_mark(
        self,
        session: Session,
        request: p.Request,
        model: type[ev.CallClaimed | ev.AdviceAcknowledged],
        call_id: str,
        mark: dict[str, Any],
    ) -> None:
        room = self._check_calls_room(session, request)
        await self.publish(
            lambda seq, ts: model(
                call_id=call_id,
                **mark,
                name=session.name,
                client_id=session.client_id,
                sender=session.address,
                room=room,
                seq=seq,
                ts=ts,
            ),
            room=room,
            ack=self._ack_after_own_copy(session, request, {} if room is None else {"room": room}),
        )

    async def _auth_again(self, session: Session, data: p.Auth, request: p.Request) -> None:
        raise p.ProtocolError(
            p.ErrorCode.INVALID_DATA,
            "already authenticated: auth is only the first message",
            request.event,
            request.id,
        )


#: What a close reason counts as in ``dispatch_closes_total``.
_CLOSE_REASONS = {"rate limit exceeded": "rate_limit", "credentials revoked": "revoked"}


def _client_fields(session: Session) -> dict[str, Any]:
    """One client as ``clients_list`` and the shared presence hold it (a plain dict, since
    presence is rebuilt for every client whenever one comes or goes)."""
    return {
        "address": session.address,
        "room": session.latest_room,
        "rooms": list(session.rooms),
        "name": session.name,
        "client_id": session.client_id,
        "role": session.role.name,
    }


def _remote_entries(entries: Iterable[dict[str, Any]], room: str | None) -> list[ev.ClientEntry]:
    """Another relay's clients (in ``room``, if given); an entry that does not read is skipped."""
    listed = []
    for entry in entries:
        try:
            client = ev.ClientEntry.model_validate(entry)
        except ValidationError:
            logger.error("unreadable client entry in another relay's presence")
            continue
        if room is None or room in client.rooms:
            listed.append(client)
    return listed


def _acknowledged_advice(payload: bytes) -> ev.AdviceAcknowledged | None:
    """The ``advice_acknowledged`` of a frame from the shared log, if it reads as one."""
    try:
        event = ev.parse_event(json.loads(payload))
    except ValueError:
        event = None
    if not isinstance(event, ev.AdviceAcknowledged):
        logger.error("unreadable advice_acknowledged in the shared log")
        return None
    return event


def _forbidden(session: Session, what: str, request: p.Request) -> p.ProtocolError:
    return p.ProtocolError(
        p.ErrorCode.FORBIDDEN,
        f"role {session.role.name!r} may not {what}",
        request.event,
        request.id,
    )
