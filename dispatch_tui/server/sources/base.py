"""What every source adapter shares: its errors, the readers of untrusted JSON, the base class.

A speech-to-text provider (or a gateway in front of one) streams JSON frames in
its own shape. One adapter per shape turns each frame into
:class:`~dispatch_tui.vocabulary.TranscriptSegment` objects, so the pipeline
never sees provider details. Adapters are pure (no I/O) and keep only the
per-connection state their provider needs: a new connection gets new adapters.

Conventions every adapter follows, so :class:`~dispatch_tui.server.calls.CallBuffer`
and the consoles can do their job:

- an interim fragment and the final that supersedes it share one ``segment_id``;
- the end of an utterance is ``utterance_end=True`` on a final segment, or a
  final segment with empty text when the provider signals it separately, so the
  pipeline runs the agent at once;
- anything an adapter cannot read raises :class:`SourceFormatError`.
"""

from __future__ import annotations

import json
import math
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, Final, TypeVar

from pydantic import ValidationError

from dispatch_tui.vocabulary import TranscriptSegment

#: Providers know nothing of calls: their segments go to this call unless told otherwise.
DEFAULT_CALL_ID: Final = "source"

JSONObject = dict[str, Any]

_T = TypeVar("_T")


class SourceFormatError(ValueError):
    """A frame an adapter cannot read: not JSON, an unknown shape or a bad field."""


class ProviderError(SourceFormatError):
    """The provider reported an error in-band (bad key, quota, malformed audio...)."""


# --- reading untrusted JSON -------------------------------------------------------------


def _no_constant(name: str) -> None:
    raise SourceFormatError(f"{name} is not a number")


def decode_object(frame: str) -> JSONObject:
    """``frame`` as a JSON object, or :class:`SourceFormatError`."""
    try:
        value = json.loads(frame, parse_constant=_no_constant)
    except SourceFormatError:
        raise
    except (ValueError, RecursionError) as exc:
        raise SourceFormatError(f"not JSON ({type(exc).__name__})") from None
    if not isinstance(value, dict):
        raise SourceFormatError(f"a JSON {type(value).__name__}, not an object")
    return value


def read_typed(message: Mapping[str, Any], key: str, kind: type[_T], what: str) -> _T | None:
    """``message[key]`` if it is a ``kind`` (a bool is no number), None if absent or null.

    Anything else is :class:`SourceFormatError`, naming the key and ``what`` it should be.
    """
    value = message.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise SourceFormatError(f"{key!r} is not {what}")
    return value


def read_text(message: Mapping[str, Any], key: str) -> str | None:
    return read_typed(message, key, str, "a string")


def read_required_text(message: Mapping[str, Any], key: str) -> str:
    value = read_text(message, key)
    if value is None:
        raise SourceFormatError(f"no {key!r}")
    return value


def read_flag(message: Mapping[str, Any], key: str, default: bool = False) -> bool:
    value = read_typed(message, key, bool, "true or false")
    return default if value is None else value


def read_int(message: Mapping[str, Any], key: str) -> int | None:
    return read_typed(message, key, int, "an integer")


def read_number(message: Mapping[str, Any], key: str) -> float | None:
    """An int or float, finite and within 1e12 (times and confidences are never larger)."""
    value = message.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SourceFormatError(f"{key!r} is not a number")
    number = float(value)
    if not math.isfinite(number) or abs(number) > 1e12:
        raise SourceFormatError(f"{key!r} is out of range")
    return number


def read_object(message: Mapping[str, Any], key: str) -> JSONObject | None:
    return read_typed(message, key, dict, "an object")


def read_objects(message: Mapping[str, Any], key: str) -> list[JSONObject]:
    """The objects of the list ``key`` (other items are skipped)."""
    items = read_typed(message, key, list, "a list") or []
    return [item for item in items if isinstance(item, dict)]


def seconds_to_ms(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)


def read_milliseconds(message: Mapping[str, Any], key: str) -> int | None:
    value = read_number(message, key)
    return None if value is None else round(value)


def speaker_label(raw: object) -> str | None:
    """Providers number or letter speakers; the transcript shows ``speaker 0``."""
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, int):
        return f"speaker {raw}"
    if isinstance(raw, str) and raw.strip() and raw.upper() != "UNKNOWN":
        return f"speaker {raw.strip()[:32]}"
    return None


def mean_confidence(words: list[JSONObject]) -> float | None:
    """The mean of the words' ``confidence``, to 4 places; None when none has one."""
    values = [c for c in (read_number(word, "confidence") for word in words) if c is not None]
    return round(sum(values) / len(values), 4) if values else None


# --- the adapters' base ---------------------------------------------------------------


class SourceAdapter(ABC):
    """Turns one provider's frames into segments; one instance per connection."""

    #: The format this adapter reads: its ``--source-format`` value (the registry
    #: lists adapters by it) and the ``provider`` of the segments it makes.
    name: ClassVar[str]

    def __init__(self, *, call_id: str = DEFAULT_CALL_ID, session: str | None = None) -> None:
        self.call_id = call_id
        #: Prefix of the segment ids this connection makes: providers restart their
        #: clocks and counters on every connection, and ids must not collide.
        self.session = session or uuid.uuid4().hex[:8]

    def parse(self, frame: str) -> list[TranscriptSegment]:
        """The segments one text frame carries (often none)."""
        return self.parse_object(decode_object(frame))

    def parse_object(self, message: JSONObject) -> list[TranscriptSegment]:
        """Like :meth:`parse`, for a frame already decoded."""
        try:
            return self._parse(message)
        except SourceFormatError:
            raise
        except (TypeError, ValueError, KeyError, IndexError, OverflowError) as exc:
            raise SourceFormatError(f"bad {self.name} message ({exc})") from None

    @abstractmethod
    def _parse(self, message: JSONObject) -> list[TranscriptSegment]: ...

    def flush(self) -> list[TranscriptSegment]:
        """Segments held back (for ordering), released when the connection ends."""
        return []

    def _segment(self, text: str, **fields: Any) -> TranscriptSegment:
        fields.setdefault("call_id", self.call_id)
        fields.setdefault("provider", self.name)
        try:
            return TranscriptSegment(text=text, **fields)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
                for error in exc.errors()
            )
            raise SourceFormatError(f"invalid segment ({problems})") from None
