"""Events the relay sends: one frozen model per event, their names, one encoder, one parser.

Requests (what clients send) are in :mod:`dispatch_tui.protocol`; this module
is the other direction. The relay builds these models and encodes each once
per message with :func:`encode_event` (never once per recipient); the client
and the console read frames back into the same models with
:func:`parse_event`. Each model's fields are in the order the seed protocol
put them on the wire, extensions after; fields listed in ``omitted_when_none``
are left out of the frame rather than sent as ``null``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, Final

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

from dispatch_tui.protocol import ProtocolError, encode_value

logger = logging.getLogger(__name__)

#: ``from`` is a Python keyword: the field is ``sender``, the wire says ``from``.
_FROM = AliasChoices("from", "sender")


class EventName(StrEnum):
    """The ``event`` of every frame the relay sends."""

    WELCOME = "welcome"
    STATUS = "status"
    ERROR = "error"
    SENT = "sent"
    ROOM_JOINED = "room_joined"
    ROOM_LEFT = "room_left"
    ROOMS_LIST = "rooms_list"
    CLIENTS_LIST = "clients_list"
    IDENTIFIED = "identified"
    HISTORY = "history"
    CLIENT_MESSAGE = "client_message"
    TRANSCRIPT = "transcript"
    AI_SUGGESTION = "ai_suggestion"
    CALL_CLAIMED = "call_claimed"
    ADVICE_ACKNOWLEDGED = "advice_acknowledged"
    ADVICE_ESCALATED = "advice_escalated"


class Event(BaseModel):
    """Base of every outgoing event: its name, and how its ``data`` is put on the wire."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_name: ClassVar[EventName]
    #: Stored in a stream (the journal), numbered by ``seq`` and replayed by ``history``.
    streamed: ClassVar[bool] = False
    omitted_when_none: ClassVar[frozenset[str]] = frozenset()

    def data(self) -> dict[str, Any]:
        """The frame's ``data`` object, in wire order."""
        dumped = self.model_dump(by_alias=True)
        for key in self.omitted_when_none:
            if dumped.get(key, 0) is None:
                del dumped[key]
        return dumped


class Welcome(Event):
    """The first frame on every connection: who the relay takes this client for."""

    event_name = EventName.WELCOME

    client_id: str
    address: str
    name: str | None = None
    role: str
    server: str
    protocol: int


class Status(Event):
    """Whether the transcript source, the agent and the shared Redis are working.

    Sent after ``welcome`` and to every client whenever it changes.
    """

    event_name = EventName.STATUS
    omitted_when_none = frozenset({"detail", "redis", "redis_detail", "journal", "journal_detail"})

    #: ``connected``, ``reconnecting`` or ``off``.
    source: str = "off"
    #: ``ready``, ``error`` or ``off``.
    agent: str = "off"
    #: Why the agent is in ``error``.
    detail: str | None = None
    #: ``connected`` or ``unavailable``; only relays on a shared Redis send it.
    redis: str | None = None
    redis_detail: str | None = None
    #: ``failed`` once the journal could not commit: messages are refused until a restart.
    journal: str | None = None
    journal_detail: str | None = None


class Error(Event):
    """A request that could not be done; the connection stays open."""

    event_name = EventName.ERROR
    omitted_when_none = frozenset({"event"})

    code: str
    message: str
    #: The request's event, when the frame named one.
    event: str | None = None


class Sent(Event):
    """The ack of a message the relay stored: it will not be lost."""

    event_name = EventName.SENT
    omitted_when_none = frozenset({"broadcast", "room", "merged"})

    recipients: int
    seq: int
    broadcast: bool | None = None
    room: str | None = None
    #: A transcript fragment that added nothing new: nothing was stored.
    merged: bool | None = None


class RoomJoined(Event):
    event_name = EventName.ROOM_JOINED

    room_name: str
    clients: int


class RoomLeft(Event):
    event_name = EventName.ROOM_LEFT

    room_name: str
    clients: int


class RoomsList(Event):
    """Member counts per room over every relay; ``partial`` when some relays are unknown."""

    event_name = EventName.ROOMS_LIST
    omitted_when_none = frozenset({"partial"})

    rooms: dict[str, int]
    partial: bool | None = None


class ClientEntry(BaseModel):
    """One client of ``clients_list``: the seed's ``address`` and ``room`` first."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    address: str
    #: The room it joined last.
    room: str | None = None
    rooms: list[str] = Field(default_factory=list)
    name: str | None = None
    client_id: str | None = None
    role: str | None = None


class ClientsList(Event):
    """Connected clients over every relay."""

    event_name = EventName.CLIENTS_LIST
    omitted_when_none = frozenset({"partial"})

    clients: list[ClientEntry]
    partial: bool | None = None


class Identified(Event):
    event_name = EventName.IDENTIFIED

    name: str | None = None
    client_id: str


class History(Event):
    """One page of a stream: each message is a whole frame as it was sent live."""

    event_name = EventName.HISTORY

    room_name: str | None = None
    messages: list[dict[str, Any]] = Field(default_factory=list)
    has_more: bool = False


class ClientMessage(Event):
    """Chat or a broadcast: ``room`` for a room message, ``broadcast`` for one to all."""

    event_name = EventName.CLIENT_MESSAGE
    streamed = True
    omitted_when_none = frozenset({"broadcast", "room"})

    sender: str = Field(default="", validation_alias=_FROM, serialization_alias="from")
    message: Any = None
    broadcast: bool | None = None
    room: str | None = None
    name: str | None = None
    client_id: str | None = None
    seq: int | None = None
    ts: str | None = None


class Transcript(Event):
    """New text of a live call; an interim fragment is replaced by its segment's final."""

    event_name = EventName.TRANSCRIPT
    streamed = True
    omitted_when_none = frozenset({"speaker", "start_ms", "provider"})

    call_id: str
    text: str = ""
    is_final: bool = True
    speaker: str | None = None
    seq: int | None = None
    ts: str | None = None
    segment_id: str | None = None
    start_ms: int | None = None
    #: The speech-to-text provider, when it is not the native format.
    provider: str | None = None


class AiSuggestion(Event):
    """The agent's advice on a call.

    ``suggestion`` is a :class:`~dispatch_tui.protocol.Suggestion` as JSON.
    """

    event_name = EventName.AI_SUGGESTION
    streamed = True

    call_id: str
    seq: int | None = None
    ts: str | None = None
    suggestion: dict[str, Any]


class CallMark(Event):
    """What a dispatcher did to a call, and who it was."""

    streamed = True

    call_id: str


class CallClaimed(CallMark):
    """A dispatcher took a call (``claimed``) or gave it back."""

    event_name = EventName.CALL_CLAIMED

    claimed: bool = True
    name: str | None = None
    client_id: str | None = None
    sender: str = Field(default="", validation_alias=_FROM, serialization_alias="from")
    room: str | None = None
    seq: int | None = None
    ts: str | None = None


class AdviceAcknowledged(CallMark):
    """A dispatcher has seen a call's advice (``advice_seq``); its escalation stops."""

    event_name = EventName.ADVICE_ACKNOWLEDGED

    advice_seq: int | None = None
    name: str | None = None
    client_id: str | None = None
    sender: str = Field(default="", validation_alias=_FROM, serialization_alias="from")
    room: str | None = None
    seq: int | None = None
    ts: str | None = None


class AdviceEscalated(CallMark):
    """P1 advice nobody acknowledged in time; the supervisors were told."""

    event_name = EventName.ADVICE_ESCALATED

    advice_seq: int | None = None
    priority: int = 1
    incident_type: str = "unknown"
    location: str | None = None
    after_seconds: float = 0.0
    room: str | None = None
    seq: int | None = None
    ts: str | None = None


#: Every outgoing event's model, by name.
EVENT_MODELS: Final[dict[str, type[Event]]] = {
    model.event_name: model
    for model in (
        Welcome,
        Status,
        Error,
        Sent,
        RoomJoined,
        RoomLeft,
        RoomsList,
        ClientsList,
        Identified,
        History,
        ClientMessage,
        Transcript,
        AiSuggestion,
        CallClaimed,
        AdviceAcknowledged,
        AdviceEscalated,
    )
}

#: Events stored in a stream: they carry a resumable ``seq``.
STREAMED: Final = frozenset(name for name, model in EVENT_MODELS.items() if model.streamed)


def sender_name(event: ClientMessage | CallClaimed | AdviceAcknowledged) -> str:
    """Who sent it, as people are shown: the display name, else the address."""
    return event.name or event.sender or "?"


def encode_event(event: Event, request_id: str | int | None = None) -> bytes:
    """The UTF-8 bytes of one text frame; ``request_id`` when it answers a request."""
    message: dict[str, Any] = {"event": event.event_name.value, "data": event.data()}
    if request_id is not None:
        message["id"] = request_id
    return encode_value(message)


def error_event(error: ProtocolError) -> bytes:
    """The ``error`` frame that tells a peer why its request was not done."""
    return encode_event(
        Error(code=error.code, message=error.message, event=error.event), error.request_id
    )


#: Stands in for ``seq`` while a message is encoded before its number is known.
_SEQ_MARK: Final = 9_007_199_254_740_991


@dataclass(frozen=True, slots=True)
class SeqTemplate:
    """An encoded streamed event with a hole where its ``seq`` goes.

    A shared log numbers a message and stores it in one atomic step, so the
    bytes must exist before the number does: the log fills the hole.
    """

    event: EventName
    head: bytes
    tail: bytes

    @classmethod
    def encode(cls, build: Callable[[int], Event]) -> SeqTemplate:
        """Encode ``build(seq)`` around a placeholder ``seq``.

        The placeholder is the data's own top-level ``seq``; should a message
        carry the same number, another placeholder is tried.
        """
        mark = _SEQ_MARK
        while True:
            event = build(mark)
            payload = encode_event(event)
            needle = b'"seq":' + str(mark).encode()
            if payload.count(needle) == 1:
                head, _, tail = payload.partition(needle)
                return cls(event.event_name, head + b'"seq":', tail)
            mark -= 1

    def fill(self, seq: int) -> bytes:
        return b"".join((self.head, str(seq).encode(), self.tail))


def encode_history(
    room_name: str | None,
    frames: Sequence[bytes],
    has_more: bool,
    request_id: str | int | None = None,
) -> bytes:
    """A :class:`History` frame around stored frames, joined as they are (not decoded again)."""
    return b"".join(
        (
            b'{"event":"history","data":{"room_name":',
            encode_value(room_name),
            b',"messages":[',
            b",".join(frames),
            b'],"has_more":',
            b"true" if has_more else b"false",
            b"}",
            b"" if request_id is None else b',"id":' + encode_value(request_id),
            b"}",
        )
    )


def stream_position(frame: Mapping[str, Any]) -> tuple[str | None, int] | None:
    """Where a streamed frame stands: its stream (the room, None for global) and ``seq``.

    None for a frame that is not stored in a stream. Read without building the
    model: a client checks this for every frame, to drop what it has seen.
    """
    name = frame.get("event")
    if not isinstance(name, str) or name not in STREAMED:
        return None
    data = frame.get("data")
    if not isinstance(data, Mapping):
        return None
    seq, room = data.get("seq"), data.get("room")
    if not isinstance(seq, int) or isinstance(seq, bool):
        return None
    return (room if isinstance(room, str) else None), seq


def parse_event(frame: Mapping[str, Any]) -> Event | None:
    """The typed event of a decoded frame; None for an event this client does not know.

    A known event whose data does not fit its model is logged and also None:
    a relay newer or older than this client never breaks it.
    """
    name = frame.get("event")
    model = EVENT_MODELS.get(name) if isinstance(name, str) else None
    if model is None:
        return None
    data = frame.get("data")
    try:
        return model.model_validate(data if isinstance(data, Mapping) else {})
    except ValidationError as exc:
        logger.warning(
            "ignoring a malformed %s: %s", model.event_name.value, exc.errors()[0]["msg"]
        )
        return None
