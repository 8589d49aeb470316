"""Wire messages of the dispatch protocol: parse, validate, encode. No I/O.

Every frame is one JSON object ``{"event": str, "data": object?, "id"?: str|int}``.
Requests from clients are validated into typed models; any kind of bad input
raises :class:`ProtocolError` carrying the error code the peer is told. What
the relay sends back is in :mod:`dispatch_tui.events`.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Final, Literal

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
    """The error codes of docs/protocol.md; the connection stays open after each."""

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

    #: The request's ``event`` on the wire.
    event: ClassVar[str]


class SendToAll(_Data):
    event = "send_to_all"

    message: Any


class JoinRoom(_Data):
    event = "join_room"

    room_name: RoomName


class SendToRoom(_Data):
    event = "send_to_room"

    room_name: RoomName
    message: Any


class LeaveRoom(_Data):
    event = "leave_room"

    room_name: RoomName | None = None


class ListRooms(_Data):
    event = "list_rooms"


class ListClients(_Data):
    event = "list_clients"

    room_name: RoomName | None = None


class Identify(_Data):
    event = "identify"

    name: DisplayName


class HistoryRequest(_Data):
    event = "history"

    room_name: RoomName | None = None
    since: Annotated[StrictInt, Field(ge=0)] | None = None
    limit: Annotated[StrictInt, Field(ge=1, le=MAX_HISTORY_LIMIT)] = DEFAULT_HISTORY_LIMIT


class PublishTranscript(_Data):
    event = "publish_transcript"

    call_id: CallId
    text: Annotated[StrictStr, Field(max_length=10_000)]
    is_final: StrictBool
    speaker: Annotated[StrictStr, Field(max_length=64)] | None = None
    segment_id: Annotated[StrictStr, Field(max_length=128)] | None = None


class Auth(_Data):
    event = "auth"

    token: Annotated[StrictStr, Field(min_length=1, max_length=4096)]


class ClaimCall(_Data):
    """A dispatcher takes a call (or, with ``release``, gives it back)."""

    event = "claim_call"

    call_id: CallId
    release: StrictBool = False


class AcknowledgeAdvice(_Data):
    """A dispatcher has seen a call's advice; stops its escalation."""

    event = "acknowledge_advice"

    call_id: CallId
    advice_seq: Annotated[StrictInt, Field(ge=0)] | None = None


#: Every request's payload model, by its ``event``.
REQUEST_MODELS: Final[dict[str, type[_Data]]] = {
    model.event: model
    for model in (
        SendToAll,
        JoinRoom,
        SendToRoom,
        LeaveRoom,
        ListRooms,
        ListClients,
        Identify,
        HistoryRequest,
        PublishTranscript,
        Auth,
        ClaimCall,
        AcknowledgeAdvice,
    )
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


def encode_value(value: Any) -> bytes:
    """Compact UTF-8 JSON, as every frame is sent.

    A lone surrogate (``"\\ud800"`` is valid JSON) has no UTF-8 form: such a
    value goes out with every non-ASCII character escaped instead.
    """
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:
        return json.dumps(value, separators=(",", ":")).encode()


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
    """The agent's advice for a call, as the ``ai_suggestion`` event carries it."""

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
