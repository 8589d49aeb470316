"""Wire messages of the dispatch protocol: parse, validate, encode. No I/O.

Every frame is one JSON object ``{"event": str, "data": object?, "id"?: str|int}``.
Requests from clients are validated into typed models; any kind of bad input
raises :class:`ProtocolError` carrying the error code the peer is told.
Outgoing events are built as plain dicts in seed field order and encoded once
per message (never once per recipient) by :func:`encode`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
)

PROTOCOL_VERSION: Final = 1
MAX_ROOM_NAME = 64
MAX_NAME = 64
MAX_ID_LENGTH = 64
DEFAULT_HISTORY_LIMIT = 100
MAX_HISTORY_LIMIT = 1000

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class ErrorCode(StrEnum):
    """The error codes of PROTOCOL.md; the connection stays open after each."""

    BAD_JSON = "bad_json"
    BAD_MESSAGE = "bad_message"
    UNKNOWN_EVENT = "unknown_event"
    INVALID_DATA = "invalid_data"
    FORBIDDEN = "forbidden"
    RATE_LIMITED = "rate_limited"
    NOT_FOUND = "not_found"
    #: The message could not be stored right now (the shared Redis is away);
    #: nothing was delivered and sending again later is safe.
    UNAVAILABLE = "unavailable"


class CloseCode:
    """WebSocket close codes the relay uses, with the reason it sends."""

    GOING_AWAY = 1001
    UNSUPPORTED_DATA = 1003
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    TRY_AGAIN_LATER = 1013


class ProtocolError(Exception):
    """A peer's request that cannot be done; becomes an ``error`` reply."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        event: str | None = None,
        request_id: str | int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.event = event
        self.request_id = request_id


def _no_control_characters(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


RoomName = Annotated[
    StrictStr,
    Field(min_length=1, max_length=MAX_ROOM_NAME),
    AfterValidator(_no_control_characters),
]
DisplayName = Annotated[
    StrictStr,
    Field(min_length=1, max_length=MAX_NAME),
    AfterValidator(_no_control_characters),
]
RequestId = StrictStr | StrictInt
CallId = Annotated[StrictStr, Field(min_length=1, max_length=128)]


class _Data(BaseModel):
    """Base of request payloads: unknown keys are ignored, types are strict."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class NoData(_Data):
    pass


class SendToAll(_Data):
    message: Any


class JoinRoom(_Data):
    room_name: RoomName


class SendToRoom(_Data):
    room_name: RoomName
    message: Any


class LeaveRoom(_Data):
    room_name: RoomName | None = None


class ListRooms(_Data):
    pass


class ListClients(_Data):
    room_name: RoomName | None = None


class Identify(_Data):
    name: DisplayName


class HistoryRequest(_Data):
    room_name: RoomName | None = None
    since: Annotated[StrictInt, Field(ge=0)] | None = None
    limit: Annotated[StrictInt, Field(ge=1, le=MAX_HISTORY_LIMIT)] = DEFAULT_HISTORY_LIMIT


class PublishTranscript(_Data):
    call_id: CallId
    text: Annotated[StrictStr, Field(max_length=10_000)]
    is_final: StrictBool
    speaker: Annotated[StrictStr, Field(max_length=64)] | None = None
    segment_id: Annotated[StrictStr, Field(max_length=128)] | None = None


class Auth(_Data):
    token: Annotated[StrictStr, Field(min_length=1, max_length=4096)]


class ClaimCall(_Data):
    """A dispatcher takes a call (or, with ``release``, gives it back)."""

    call_id: CallId
    release: StrictBool = False


class AcknowledgeAdvice(_Data):
    """A dispatcher has seen a call's advice; stops its escalation."""

    call_id: CallId
    advice_seq: Annotated[StrictInt, Field(ge=0)] | None = None


REQUEST_MODELS: Final[dict[str, type[_Data]]] = {
    "send_to_all": SendToAll,
    "join_room": JoinRoom,
    "send_to_room": SendToRoom,
    "leave_room": LeaveRoom,
    "list_rooms": ListRooms,
    "list_clients": ListClients,
    "identify": Identify,
    "history": HistoryRequest,
    "publish_transcript": PublishTranscript,
    "auth": Auth,
    "claim_call": ClaimCall,
    "acknowledge_advice": AcknowledgeAdvice,
}

#: Requests whose ``data`` may be left out altogether.
_DATA_OPTIONAL: Final = frozenset({"leave_room", "list_rooms", "list_clients", "history"})


class Request(BaseModel):
    """One validated client request."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    event: str
    data: _Data
    id: str | int | None = None


def _request_id(raw: dict[str, Any]) -> str | int | None:
    if "id" not in raw or raw["id"] is None:
        return None
    value = raw["id"]
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ProtocolError(ErrorCode.INVALID_DATA, "id must be a string or an integer")
    if isinstance(value, str) and len(value) > MAX_ID_LENGTH:
        raise ProtocolError(ErrorCode.INVALID_DATA, f"id is longer than {MAX_ID_LENGTH}")
    return value


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "data"
    return f"{where}: {first['msg']}"


#: Deeper JSON is refused: relaying it would take the encoder past Python's recursion limit.
MAX_NESTING = 64


def _too_deep(value: Any) -> bool:
    """Whether ``value`` nests lists and objects more than :data:`MAX_NESTING` deep."""
    level: list[Any] = [value]
    for _ in range(MAX_NESTING + 1):
        level = [
            child
            for item in level
            if isinstance(item, (dict, list))
            for child in (item.values() if isinstance(item, dict) else item)
        ]
        if not level:
            return False
    return any(isinstance(item, (dict, list)) for item in level)


def parse_request(text: str | bytes) -> Request:
    """Turn one frame into a :class:`Request`, or raise :class:`ProtocolError`."""
    constants: list[str] = []
    try:
        raw = json.loads(text, parse_constant=lambda name: constants.append(name))
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(ErrorCode.BAD_JSON, f"not valid JSON: {exc}") from None
    request_id = _request_id(raw) if isinstance(raw, dict) else None
    event = raw.get("event") if isinstance(raw, dict) else None
    named = event[:64] if isinstance(event, str) else None
    if constants:
        raise ProtocolError(
            ErrorCode.BAD_JSON,
            f"{constants[0]} is not JSON (a browser's JSON.parse rejects it)",
            named,
            request_id,
        )
    if _too_deep(raw):
        raise ProtocolError(
            ErrorCode.INVALID_DATA,
            f"JSON nested deeper than {MAX_NESTING} levels",
            named,
            request_id,
        )
    if not isinstance(raw, dict):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "a message must be a JSON object")
    if not isinstance(event, str):
        raise ProtocolError(
            ErrorCode.BAD_MESSAGE, 'a message needs a string "event"', None, request_id
        )
    model = REQUEST_MODELS.get(event)
    if model is None:
        raise ProtocolError(
            ErrorCode.UNKNOWN_EVENT, f"unknown event {event[:64]!r}", event[:64], request_id
        )
    data = raw.get("data")
    if data is None and event in _DATA_OPTIONAL:
        data = {}
    if not isinstance(data, dict):
        raise ProtocolError(ErrorCode.INVALID_DATA, '"data" must be an object', event, request_id)
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        raise ProtocolError(ErrorCode.INVALID_DATA, _describe(exc), event, request_id) from None
    return Request(event=event, data=parsed, id=request_id)


def now_iso() -> str:
    """ISO 8601 UTC time with milliseconds, as ``ts`` fields carry it."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def encode(event: str, data: dict[str, Any], request_id: str | int | None = None) -> bytes:
    """Encode one outgoing event to the UTF-8 bytes of a text frame."""
    message: dict[str, Any] = {"event": event, "data": data}
    if request_id is not None:
        message["id"] = request_id
    return encode_value(message)


def encode_value(value: Any) -> bytes:
    """Encode one JSON value the way :func:`encode` does, for frames built by hand."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


#: Stands in for ``seq`` while a message is encoded before its number is known.
_SEQ_MARK: Final = 9_007_199_254_740_991


@dataclass(frozen=True, slots=True)
class SeqTemplate:
    """An encoded event with a hole where its ``seq`` goes.

    A shared log numbers a message and stores it in one atomic step, so the
    bytes must exist before the number does: the log fills the hole.
    """

    head: bytes
    tail: bytes

    @classmethod
    def encode(cls, event: str, build: Callable[[int], dict[str, Any]]) -> SeqTemplate:
        """Encode ``build(seq)``'s data around a placeholder ``seq``.

        The placeholder is the data's own top-level ``seq``; should a message
        carry the same number, another placeholder is tried.
        """
        mark = _SEQ_MARK
        while True:
            payload = encode(event, build(mark))
            needle = b'"seq":' + str(mark).encode()
            if payload.count(needle) == 1:
                head, _, tail = payload.partition(needle)
                return cls(head + b'"seq":', tail)
            mark -= 1

    def fill(self, seq: int) -> bytes:
        return b"".join((self.head, str(seq).encode(), self.tail))


def error_event(error: ProtocolError) -> bytes:
    data: dict[str, Any] = {"code": str(error.code), "message": error.message}
    if error.event is not None:
        data["event"] = error.event
    return encode("error", data, error.request_id)


def client_message(
    *,
    sender: str,
    message: Any,
    room: str | None,
    name: str | None,
    client_id: str,
    seq: int,
    ts: str,
) -> dict[str, Any]:
    """The ``client_message`` data in the seed's field order, extensions after."""
    data: dict[str, Any] = {"from": sender, "message": message}
    if room is None:
        data["broadcast"] = True
    else:
        data["room"] = room
    data.update(name=name, client_id=client_id, seq=seq, ts=ts)
    return data


def call_mark(
    call_id: str,
    mark: dict[str, Any],
    *,
    name: str | None,
    client_id: str,
    sender: str,
    room: str | None,
    seq: int,
    ts: str,
) -> dict[str, Any]:
    """The data of ``call_claimed`` (``mark``: ``claimed``) and ``advice_acknowledged``
    (``mark``: ``advice_seq``): what a dispatcher did to a call, and who it was."""
    return {
        "call_id": call_id,
        **mark,
        "name": name,
        "client_id": client_id,
        "from": sender,
        "room": room,
        "seq": seq,
        "ts": ts,
    }


def advice_escalated(
    *,
    call_id: str,
    advice_seq: int,
    incident_type: str,
    location: str | None,
    after_seconds: float,
    room: str | None,
    seq: int,
    ts: str,
) -> dict[str, Any]:
    """The ``advice_escalated`` data: P1 advice nobody acknowledged in time."""
    return {
        "call_id": call_id,
        "advice_seq": advice_seq,
        "priority": 1,
        "incident_type": incident_type,
        "location": location,
        "after_seconds": after_seconds,
        "room": room,
        "seq": seq,
        "ts": ts,
    }


StatusSource = Literal["connected", "reconnecting", "off"]
StatusAgent = Literal["ready", "error", "off"]


Consciousness = Literal["yes", "no", "unknown"]
BreathingState = Literal["normal", "difficult", "abnormal", "none", "uncertain", "unknown"]


class PatientSummary(BaseModel):
    """What the call says of the patient, as the agent reads it (an extension field)."""

    model_config = ConfigDict(extra="ignore")

    conscious: Consciousness = "unknown"
    breathing: BreathingState = "unknown"


class Suggestion(BaseModel):
    """The agent's advice for a call, as PROTOCOL.md's "AI suggestion" shows it."""

    model_config = ConfigDict(extra="ignore")

    incident_type: str = "unknown"
    priority: Annotated[int, Field(ge=1, le=5)] = 3
    confidence: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0
    summary: str = ""
    location: str | None = None
    questions: list[str] = Field(default_factory=list)
    instructions: list[str] = Field(default_factory=list)
    units: list[str] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list)
    patient: PatientSummary = Field(default_factory=PatientSummary)
