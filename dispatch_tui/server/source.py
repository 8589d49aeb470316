"""Upstream transcription sources: provider adapters and the reconnecting connection.

A speech-to-text provider (or a gateway in front of one) streams JSON frames in
its own shape. One adapter per shape turns each frame into
:class:`~dispatch_tui.server.calls.TranscriptSegment` objects, so the pipeline
never sees provider details. Adapters are pure (no I/O) and keep only the
per-connection state their provider needs: a new connection gets new adapters.

Conventions every adapter follows, so :class:`~dispatch_tui.server.calls.CallBuffer`
and the consoles can do their job:

- an interim fragment and the final that supersedes it share one ``segment_id``;
- the end of an utterance is ``utterance_end=True`` on a final segment, or a
  final segment with empty text when the provider signals it separately, so the
  pipeline runs the agent at once;
- anything an adapter cannot read raises :class:`SourceFormatError`.

:class:`UpstreamSource` keeps one WebSocket to the source open for as long as
the relay runs: it reconnects with jittered exponential backoff, detects dead
peers with keepalive pings, and reports its state; bad frames and failing
callbacks are logged and counted, never fatal.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import uuid
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Final, TypeVar
from urllib.parse import urlsplit

from pydantic import ValidationError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidURI
from websockets.uri import parse_uri

from dispatch_tui import backoff
from dispatch_tui.server.broker import BrokerUnavailable
from dispatch_tui.untrusted import strip_controls
from dispatch_tui.vocabulary import TranscriptSegment

if TYPE_CHECKING:
    from dispatch_tui.server.relay import Relay

logger = logging.getLogger(__name__)

#: Values of ``--source-format``.
SOURCE_FORMATS: Final = ("auto", "native", "deepgram", "assemblyai", "openai", "text")
#: Providers know nothing of calls: their segments go to this call unless told otherwise.
DEFAULT_CALL_ID: Final = "source"
#: Larger frames are refused by the WebSocket layer (close 1009) before they are parsed.
MAX_FRAME_BYTES: Final = 1 << 20

JSONObject = dict[str, Any]
SegmentCallback = Callable[[TranscriptSegment], Awaitable[None]]
StateCallback = Callable[[str, str | None], None]

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


def _typed(message: Mapping[str, Any], key: str, kind: type[_T], what: str) -> _T | None:
    value = message.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise SourceFormatError(f"{key!r} is not {what}")
    return value


def _text(message: Mapping[str, Any], key: str) -> str | None:
    return _typed(message, key, str, "a string")


def _required_text(message: Mapping[str, Any], key: str) -> str:
    value = _text(message, key)
    if value is None:
        raise SourceFormatError(f"no {key!r}")
    return value


def _flag(message: Mapping[str, Any], key: str, default: bool = False) -> bool:
    value = _typed(message, key, bool, "true or false")
    return default if value is None else value


def _int(message: Mapping[str, Any], key: str) -> int | None:
    return _typed(message, key, int, "an integer")


def _number(message: Mapping[str, Any], key: str) -> float | None:
    value = message.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SourceFormatError(f"{key!r} is not a number")
    number = float(value)
    if not math.isfinite(number) or abs(number) > 1e12:
        raise SourceFormatError(f"{key!r} is out of range")
    return number


def _object(message: Mapping[str, Any], key: str) -> JSONObject | None:
    return _typed(message, key, dict, "an object")


def _objects(message: Mapping[str, Any], key: str) -> list[JSONObject]:
    """The objects of the list ``key`` (other items are skipped)."""
    items = _typed(message, key, list, "a list") or []
    return [item for item in items if isinstance(item, dict)]


def _seconds_to_ms(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)


def _milliseconds(message: Mapping[str, Any], key: str) -> int | None:
    value = _number(message, key)
    return None if value is None else round(value)


def _speaker_label(raw: object) -> str | None:
    """Providers number or letter speakers; the transcript shows ``speaker 0``."""
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, int):
        return f"speaker {raw}"
    if isinstance(raw, str) and raw.strip() and raw.upper() != "UNKNOWN":
        return f"speaker {raw.strip()[:32]}"
    return None


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


# --- adapters ---------------------------------------------------------------------------


class SourceAdapter(ABC):
    """Turns one provider's frames into segments; one instance per connection."""

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


class TextAdapter(SourceAdapter):
    """Each text frame is final text (one segment per non-empty line), speaker unknown."""

    name = "text"

    def __init__(self, *, call_id: str = DEFAULT_CALL_ID, session: str | None = None) -> None:
        super().__init__(call_id=call_id, session=session)
        self._count = 0

    def parse(self, frame: str) -> list[TranscriptSegment]:
        segments = []
        for line in frame.splitlines():
            text = strip_controls(line).strip()
            if text:
                self._count += 1
                segment_id = f"text-{self.session}-{self._count}"
                segments.append(self._segment(text, is_final=True, segment_id=segment_id))
        return segments

    def _parse(self, message: JSONObject) -> list[TranscriptSegment]:
        raise SourceFormatError("the text format takes plain text, not JSON")


class NativeAdapter(SourceAdapter):
    """The relay's own shapes: ``publish_transcript`` (or its bare data) and ``transcript``.

    ``transcript`` lets one relay feed another; the rest of a relay's chatter
    (``welcome``, ``status``...) is skipped.
    """

    name = "native"
    _FEEDS: ClassVar[frozenset[str]] = frozenset({"publish_transcript", "transcript"})
    _CHATTER: ClassVar[frozenset[str]] = frozenset(
        {
            "welcome",
            "status",
            "sent",
            "ai_suggestion",
            "client_message",
            "history",
            "room_joined",
            "room_left",
            "rooms_list",
            "clients_list",
        }
    )

    def _parse(self, message: JSONObject) -> list[TranscriptSegment]:
        data = message
        if "event" in message:
            event = message["event"]
            if event in self._CHATTER:
                return []
            if event == "error":
                detail = _object(message, "data") or {}
                raise ProviderError(str(detail.get("message") or "error event")[:200])
            if event not in self._FEEDS:
                raise SourceFormatError(f"unexpected event {str(event)[:40]!r}")
            payload = _object(message, "data")
            if payload is None:
                raise SourceFormatError("no 'data' object")
            data = payload
        segment_id = data.get("segment_id")
        if isinstance(segment_id, int) and not isinstance(segment_id, bool):
            segment_id = str(segment_id)
        elif segment_id is not None and not isinstance(segment_id, str):
            raise SourceFormatError("'segment_id' is not a string")
        return [
            self._segment(
                _required_text(data, "text"),
                call_id=_text(data, "call_id") or self.call_id,
                is_final=_flag(data, "is_final", default=True),
                speaker=_text(data, "speaker"),
                segment_id=segment_id,
                channel=_int(data, "channel"),
                start_ms=_int(data, "start_ms"),
                end_ms=_int(data, "end_ms"),
                confidence=_number(data, "confidence"),
                utterance_end=_flag(data, "utterance_end"),
            )
        ]


class DeepgramAdapter(SourceAdapter):
    """Deepgram live streaming: ``Results``, ``UtteranceEnd``, ``Metadata``, ``SpeechStarted``.

    Interim and final ``Results`` of the same audio share their ``start``, so the
    segment id is derived from it. ``speech_final`` and ``UtteranceEnd`` both end
    an utterance; Deepgram advises ignoring ``UtteranceEnd`` right after a
    ``speech_final``, so an utterance is ended once.
    """

    name = "deepgram"
    _IGNORED: ClassVar[frozenset[str]] = frozenset({"Metadata", "SpeechStarted"})

    def __init__(self, *, call_id: str = DEFAULT_CALL_ID, session: str | None = None) -> None:
        super().__init__(call_id=call_id, session=session)
        #: Per channel: words were heard since the last end of utterance.
        self._open: dict[int, bool] = {}

    def _parse(self, message: JSONObject) -> list[TranscriptSegment]:
        kind = message.get("type")
        if kind == "Results":
            return self._results(message)
        if kind == "UtteranceEnd":
            return self._utterance_end(message)
        if kind in self._IGNORED:
            return []
        if kind == "Error":
            reason = message.get("description") or message.get("message") or "error"
            raise ProviderError(str(reason)[:200])
        raise SourceFormatError(f"unknown deepgram message type {str(kind)[:40]!r}")

    @staticmethod
    def _channel(message: JSONObject, key: str) -> tuple[int, int]:
        """(channel, number of channels) from ``[index, total]``."""
        index = _typed(message, key, list, "a list") or []
        numbers = [n for n in index if isinstance(n, int) and not isinstance(n, bool)]
        channel = numbers[0] if numbers else 0
        return channel, numbers[1] if len(numbers) > 1 else 1

    def _results(self, message: JSONObject) -> list[TranscriptSegment]:
        channel_data = _object(message, "channel")
        if channel_data is None:
            raise SourceFormatError("Results without 'channel'")
        alternatives = _objects(channel_data, "alternatives")
        best = alternatives[0] if alternatives else {}
        transcript = (_text(best, "transcript") or "").strip()
        is_final = _flag(message, "is_final")
        speech_final = _flag(message, "speech_final") and is_final
        start = _number(message, "start") or 0.0
        duration = _number(message, "duration") or 0.0
        channel, channels = self._channel(message, "channel_index")
        start_ms = _seconds_to_ms(start)
        base_id = f"dg-{self.session}-{channel}-{start_ms}"
        common: dict[str, Any] = {"is_final": is_final, "channel": channel}
        was_open = self._open.get(channel, False)
        self._open[channel] = (was_open or bool(transcript)) and not speech_final
        if not transcript:
            if speech_final and was_open:
                end_ms = _seconds_to_ms(start + duration)
                marker_id = f"{base_id}-end"
                return [
                    self._segment(
                        "", utterance_end=True, segment_id=marker_id, end_ms=end_ms, **common
                    )
                ]
            return []
        words = _objects(best, "words")
        fallback = f"channel {channel}" if channels > 1 else None
        runs = self._speaker_runs(words) if is_final else []
        if len(runs) <= 1:
            speaker = _speaker_label(words[0].get("speaker")) if words else None
            return [
                self._segment(
                    transcript,
                    segment_id=base_id,
                    speaker=speaker or fallback,
                    start_ms=start_ms,
                    end_ms=_seconds_to_ms(start + duration),
                    confidence=_number(best, "confidence"),
                    utterance_end=speech_final,
                    **common,
                )
            ]
        # Diarized final with several speakers: one segment per speaker turn.
        segments = []
        for number, (speaker, run) in enumerate(runs):
            text = " ".join(
                str(word.get("punctuated_word") or word.get("word") or "") for word in run
            )
            segments.append(
                self._segment(
                    text.strip(),
                    segment_id=base_id if number == 0 else f"{base_id}-{number}",
                    speaker=speaker or fallback,
                    start_ms=_seconds_to_ms(_number(run[0], "start")),
                    end_ms=_seconds_to_ms(_number(run[-1], "end")),
                    confidence=_mean(
                        [c for c in (_number(word, "confidence") for word in run) if c is not None]
                    ),
                    utterance_end=speech_final and number == len(runs) - 1,
                    **common,
                )
            )
        return segments

    @staticmethod
    def _speaker_runs(words: list[JSONObject]) -> list[tuple[str | None, list[JSONObject]]]:
        runs: list[tuple[str | None, list[JSONObject]]] = []
        for word in words:
            speaker = _speaker_label(word.get("speaker"))
            if runs and runs[-1][0] == speaker:
                runs[-1][1].append(word)
            else:
                runs.append((speaker, [word]))
        return runs

    def _utterance_end(self, message: JSONObject) -> list[TranscriptSegment]:
        channel, _ = self._channel(message, "channel")
        if not self._open.get(channel, False):
            return []
        self._open[channel] = False
        end_ms = _seconds_to_ms(_number(message, "last_word_end"))
        return [
            self._segment(
                "",
                is_final=True,
                utterance_end=True,
                segment_id=f"dg-{self.session}-{channel}-end-{end_ms}",
                channel=channel,
                end_ms=end_ms,
            )
        ]


class AssemblyAIAdapter(SourceAdapter):
    """AssemblyAI Universal-Streaming (v3): ``Begin``, ``Turn``, ``Termination``.

    A turn is one segment (id from ``turn_order``); ``end_of_turn`` makes it final
    and ends the utterance. With ``format_turns`` the provider sends the end of
    a turn twice, unformatted then formatted: once a formatted turn has been
    seen, an unformatted end of turn is shown as interim and held until its
    formatted version (or the next turn, or the end of the session) arrives, so
    each turn is final exactly once.
    """

    name = "assemblyai"

    def __init__(self, *, call_id: str = DEFAULT_CALL_ID, session: str | None = None) -> None:
        super().__init__(call_id=call_id, session=session)
        self.session_id: str | None = None
        self._formatted_turns = False
        self._last_final = -1
        self._held: dict[int, TranscriptSegment] = {}

    def _parse(self, message: JSONObject) -> list[TranscriptSegment]:
        kind = message.get("type")
        if kind == "Turn":
            return self._turn(message)
        if kind == "Begin":
            self.session_id = _text(message, "id")
            return []
        if kind == "Termination":
            return self.flush()
        if kind == "SpeechStarted":
            return []
        if kind is None and "error" in message:
            raise ProviderError(str(message["error"])[:200])
        raise SourceFormatError(f"unknown assemblyai message type {str(kind)[:40]!r}")

    def _turn(self, message: JSONObject) -> list[TranscriptSegment]:
        order = _int(message, "turn_order")
        if order is None:
            raise SourceFormatError("Turn without 'turn_order'")
        end_of_turn = _flag(message, "end_of_turn")
        formatted = _flag(message, "turn_is_formatted")
        self._formatted_turns = self._formatted_turns or formatted
        released = self._release(before=order)
        if order <= self._last_final:
            return released  # the formatted repeat of a turn already final
        words = _objects(message, "words")
        transcript = (_text(message, "transcript") or "").strip()
        if not end_of_turn and words:
            # Partials: ``transcript`` holds the settled words, ``words`` also the next one.
            transcript = " ".join(str(word.get("text") or "") for word in words).strip()
        segment = self._segment(
            transcript,
            is_final=end_of_turn,
            utterance_end=end_of_turn,
            segment_id=f"aai-{self.session}-{order}",
            speaker=_speaker_label(message.get("speaker_label")),
            start_ms=_milliseconds(words[0], "start") if words else None,
            end_ms=_milliseconds(words[-1], "end") if words else None,
            confidence=_mean(
                [c for c in (_number(word, "confidence") for word in words) if c is not None]
            ),
        )
        if not end_of_turn:
            return [*released, segment] if transcript else released
        if formatted or not self._formatted_turns:
            self._held.pop(order, None)
            self._last_final = order
            return [*released, segment]
        self._held[order] = segment
        preview = segment.model_copy(update={"is_final": False, "utterance_end": False})
        return [*released, preview] if transcript else released

    def _release(self, before: int | None = None) -> list[TranscriptSegment]:
        orders = sorted(order for order in self._held if before is None or order < before)
        for order in orders:
            self._last_final = max(self._last_final, order)
        return [self._held.pop(order) for order in orders]

    def flush(self) -> list[TranscriptSegment]:
        return self._release()


class OpenAIAdapter(SourceAdapter):
    """OpenAI Realtime input transcription events.

    Deltas build an interim text per item. Completions may arrive out of order,
    so finals are emitted in the order ``input_audio_buffer.committed`` gave the
    items; a completion whose item was never committed is emitted at once, and
    an item that never completes is skipped once ``max_waiting`` later ones are
    ready, so nothing waits forever.
    """

    name = "openai"
    max_waiting: ClassVar[int] = 4
    _PREFIX: ClassVar[str] = "conversation.item.input_audio_transcription."
    _RECENT: ClassVar[int] = 1024

    def __init__(self, *, call_id: str = DEFAULT_CALL_ID, session: str | None = None) -> None:
        super().__init__(call_id=call_id, session=session)
        self._order: list[str] = []  # committed items whose final is not out yet
        self._ready: dict[str, TranscriptSegment | None] = {}  # None: transcription failed
        self._interim: dict[str, str] = {}
        self._times: dict[str, dict[str, int]] = {}
        self._finished: OrderedDict[str, None] = OrderedDict()

    def _parse(self, message: JSONObject) -> list[TranscriptSegment]:
        kind = message.get("type")
        if not isinstance(kind, str) or not kind:
            raise SourceFormatError("no 'type'")
        if kind == "error":
            error = _object(message, "error") or {}
            raise ProviderError(str(error.get("message") or error.get("code") or "error")[:200])
        if kind == "input_audio_buffer.committed":
            return self._committed(message)
        if kind in ("input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped"):
            self._speech_time(message)
            return []
        if kind == self._PREFIX + "delta":
            return self._delta(message)
        if kind == self._PREFIX + "completed":
            return self._completed(message)
        if kind == self._PREFIX + "failed":
            item_id = _required_text(message, "item_id")
            logger.warning("openai source: transcription failed for item %s", item_id[:64])
            return self._complete(item_id, None)
        if "." in kind:
            return []  # session.created, response.*, rate_limits.updated...: not transcripts
        raise SourceFormatError(f"unknown openai event type {kind[:40]!r}")

    def _committed(self, message: JSONObject) -> list[TranscriptSegment]:
        item_id = _required_text(message, "item_id")
        previous = _text(message, "previous_item_id")
        if item_id in self._order or item_id in self._finished:
            return []
        if previous in self._order:
            self._order.insert(self._order.index(previous) + 1, item_id)
        else:
            self._order.append(item_id)
        return self._release()

    def _speech_time(self, message: JSONObject) -> None:
        item_id = _text(message, "item_id")
        if item_id is None or item_id in self._finished:
            return
        times = self._times.setdefault(item_id, {})
        for key, field in (("audio_start_ms", "start_ms"), ("audio_end_ms", "end_ms")):
            value = _int(message, key)
            if value is not None:
                times[field] = value

    def _delta(self, message: JSONObject) -> list[TranscriptSegment]:
        item_id = _required_text(message, "item_id")
        if item_id in self._finished or item_id in self._ready:
            return []
        text = self._interim.get(item_id, "") + (_text(message, "delta") or "")
        self._interim[item_id] = text
        if not text.strip():
            return []
        return [self._item_segment(item_id, text.strip(), final=False)]

    def _completed(self, message: JSONObject) -> list[TranscriptSegment]:
        item_id = _required_text(message, "item_id")
        transcript = (_text(message, "transcript") or "").strip()
        return self._complete(item_id, self._item_segment(item_id, transcript, final=True))

    def _complete(self, item_id: str, segment: TranscriptSegment | None) -> list[TranscriptSegment]:
        if item_id in self._finished:
            return []
        if item_id not in self._order:
            self._finish(item_id)
            return [segment] if segment is not None else []
        self._ready[item_id] = segment
        return self._release()

    def _item_segment(self, item_id: str, text: str, *, final: bool) -> TranscriptSegment:
        return self._segment(
            text,
            is_final=final,
            utterance_end=final,
            segment_id=f"oai-{item_id}",
            **self._times.get(item_id, {}),
        )

    def _release(self, everything: bool = False) -> list[TranscriptSegment]:
        released: list[TranscriptSegment] = []
        while self._order:
            head = self._order[0]
            if head not in self._ready:
                if not everything and len(self._ready) <= self.max_waiting:
                    break
                logger.warning("openai source: no transcript for item %s; skipped", head[:64])
                self._order.pop(0)
                continue
            self._order.pop(0)
            segment = self._ready.pop(head)
            self._finish(head)
            if segment is not None:
                released.append(segment)
        return released

    def _finish(self, item_id: str) -> None:
        self._interim.pop(item_id, None)
        self._times.pop(item_id, None)
        self._finished[item_id] = None
        while len(self._finished) > self._RECENT:
            self._finished.popitem(last=False)

    def flush(self) -> list[TranscriptSegment]:
        released = self._release(everything=True)
        self._ready.clear()
        return released


class AutoAdapter(SourceAdapter):
    """Recognises each frame by its shape and hands it to that format's adapter.

    JSON objects are told apart by ``event`` / ``type``; frames that are not JSON
    (and do not look like broken JSON) are plain text lines.
    """

    name = "auto"
    _TYPES: ClassVar[Mapping[str, str]] = {
        "Results": "deepgram",
        "UtteranceEnd": "deepgram",
        "Metadata": "deepgram",
        "Error": "deepgram",
        "Begin": "assemblyai",
        "Turn": "assemblyai",
        "Termination": "assemblyai",
        "error": "openai",
    }

    def __init__(self, *, call_id: str = DEFAULT_CALL_ID, session: str | None = None) -> None:
        super().__init__(call_id=call_id, session=session)
        self.adapters: dict[str, SourceAdapter] = {}

    def parse(self, frame: str) -> list[TranscriptSegment]:
        if not frame.lstrip().startswith(("{", "[")):
            return self._adapter("text").parse(frame)
        return self.parse_object(decode_object(frame))

    def _parse(self, message: JSONObject) -> list[TranscriptSegment]:
        return self._adapter(self.detect(message)).parse_object(message)

    def detect(self, message: JSONObject) -> str:
        """The format a decoded frame is in, or :class:`SourceFormatError`."""
        kind = message.get("type")
        if "event" in message:
            return "native"
        if isinstance(kind, str):
            if kind in self._TYPES:
                return self._TYPES[kind]
            if kind == "SpeechStarted":  # Deepgram and AssemblyAI both send it; both skip it
                return "assemblyai" if "assemblyai" in self.adapters else "deepgram"
            if "." in kind:
                return "openai"
        elif kind is None:
            if "text" in message:
                return "native"
            if "error" in message:
                return "assemblyai"
        raise SourceFormatError("unrecognised frame shape")

    def _adapter(self, fmt: str) -> SourceAdapter:
        adapter = self.adapters.get(fmt)
        if adapter is None:
            adapter = self.adapters[fmt] = make_adapter(
                fmt, call_id=self.call_id, session=self.session
            )
        return adapter

    def flush(self) -> list[TranscriptSegment]:
        return [segment for adapter in self.adapters.values() for segment in adapter.flush()]


_ADAPTERS: Final[Mapping[str, type[SourceAdapter]]] = {
    "auto": AutoAdapter,
    "native": NativeAdapter,
    "deepgram": DeepgramAdapter,
    "assemblyai": AssemblyAIAdapter,
    "openai": OpenAIAdapter,
    "text": TextAdapter,
}


def make_adapter(
    fmt: str, *, call_id: str = DEFAULT_CALL_ID, session: str | None = None
) -> SourceAdapter:
    """A fresh adapter for ``--source-format fmt``; ValueError for an unknown format."""
    try:
        adapter_class = _ADAPTERS[fmt]
    except KeyError:
        raise ValueError(f"unknown source format {fmt!r}; use one of {SOURCE_FORMATS}") from None
    return adapter_class(call_id=call_id, session=session)


# --- the connection ---------------------------------------------------------------------


def redact_url(url: str) -> str:
    """``url`` without credentials or query (API keys often travel there), for logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _preview(frame: str | bytes, limit: int = 60) -> str:
    if isinstance(frame, bytes):
        return f"<{len(frame)} bytes>"
    text = strip_controls(frame[:limit]).replace("\n", " ")
    return repr(text + ("..." if len(frame) > limit else ""))


def _describe_close(exc: ConnectionClosed, max_size: int) -> str:
    if exc.sent is not None and exc.sent.code == 1009:
        return f"a frame was over the {max_size} byte limit (1009)"
    if exc.rcvd is not None:
        reason = f" {strip_controls(exc.rcvd.reason)[:80]}" if exc.rcvd.reason else ""
        return f"source closed the connection ({exc.rcvd.code}{reason})"
    if exc.sent is not None:
        return f"connection closed ({exc.sent.code} {exc.sent.reason})".strip()
    return "connection lost"


def _describe_error(exc: Exception, max_size: int) -> str:
    if isinstance(exc, ConnectionClosed):
        return _describe_close(exc, max_size)
    if isinstance(exc, InvalidStatus):
        return f"source refused the connection (HTTP {exc.response.status_code})"
    if isinstance(exc, TimeoutError):
        return "timed out connecting"
    if isinstance(exc, OSError):
        return f"cannot connect ({exc.strerror or type(exc).__name__})"
    return f"{type(exc).__name__}: {strip_controls(str(exc))[:120]}"


class UpstreamSource:
    """Keeps one WebSocket to a transcription source open and feeds its segments on.

    Reports ``("connected", detail)``, ``("reconnecting", why)`` and, after
    :meth:`stop`, ``("off", None)`` through ``on_state``. Nothing the source
    sends and nothing ``on_segment`` raises ends the loop; only :meth:`stop`
    (or cancelling :meth:`run`) does.
    """

    #: A connection that lasted this long (or carried a transcript) resets the backoff.
    stable_after: ClassVar[float] = 10.0

    def __init__(
        self,
        url: str,
        fmt: str,
        on_segment: SegmentCallback,
        on_state: StateCallback,
        *,
        call_id_default: str = DEFAULT_CALL_ID,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        max_size: int = MAX_FRAME_BYTES,
        ping_interval: float | None = 20.0,
        ping_timeout: float | None = 20.0,
        open_timeout: float = 10.0,
        headers: Mapping[str, str] | None = None,
        report_interval: float = 1.0,
    ) -> None:
        try:
            parse_uri(url)
        except InvalidURI as exc:
            raise ValueError(f"not a WebSocket URL: {redact_url(url)!r}") from exc
        make_adapter(fmt)  # fail now, not at the first connection
        self.url = url
        self.fmt = fmt
        self.on_segment = on_segment
        self.on_state = on_state
        self.call_id_default = call_id_default
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.max_size = max_size
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.open_timeout = open_timeout
        self.headers = dict(headers or {})
        self.report_interval = report_interval
        self.state = "off"
        self.detail: str | None = None
        #: Frames ignored on the current connection, and why the last one was.
        self.rejected = 0
        self.last_rejection: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._last_report = -math.inf
        self._report_timer: asyncio.TimerHandle | None = None
        self._delivered = False

    # -- lifecycle

    def start(self) -> asyncio.Task[None]:
        """Run in the background until :meth:`stop`."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self.run(), name=f"source {redact_url(self.url)}"
            )
        return self._task

    async def stop(self) -> None:
        """Close the connection and stop reconnecting."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._set_state("off", None)

    async def run(self) -> None:
        """Connect, read, reconnect, until cancelled."""
        loop = asyncio.get_running_loop()
        waits = backoff.delays(self.backoff_initial, self.backoff_max)
        self._set_state("reconnecting", f"connecting to {redact_url(self.url)}")
        try:
            while True:
                opened_at = loop.time()
                self._delivered = False
                try:
                    reason = await self._connection()
                except Exception as exc:
                    reason = _describe_error(exc, self.max_size)
                    if not isinstance(
                        exc, OSError | TimeoutError | ConnectionClosed | InvalidStatus
                    ):
                        logger.exception("source %s failed", redact_url(self.url))
                if self._delivered or loop.time() - opened_at >= self.stable_after:
                    waits = backoff.delays(self.backoff_initial, self.backoff_max)
                delay = next(waits)
                logger.warning(
                    "source %s: %s; reconnecting in %.1fs", redact_url(self.url), reason, delay
                )
                self._set_state("reconnecting", f"{reason}; retrying in {delay:.1f}s")
                await asyncio.sleep(delay)
        finally:
            self._cancel_report()

    async def _connection(self) -> str:
        """One connection, read to its end; returns why it ended."""
        adapter = make_adapter(self.fmt, call_id=self.call_id_default)
        try:
            async with connect(
                self.url,
                max_size=self.max_size,
                ping_interval=self.ping_interval,
                ping_timeout=self.ping_timeout,
                open_timeout=self.open_timeout,
                close_timeout=2.0,
                additional_headers=self.headers or None,
            ) as ws:
                self.rejected, self.last_rejection = 0, None
                self._cancel_report()
                logger.info("source %s connected (%s)", redact_url(self.url), self.fmt)
                self._set_state("connected", None)
                try:
                    await self._read(ws, adapter)
                except asyncio.CancelledError:
                    await ws.close(1001, "relay stopping")  # not 1011, as leaving by error would
                    raise
                code = ws.close_code
                reason = f" {strip_controls(ws.close_reason or '')[:80]}".rstrip()
                return f"source closed the connection ({code}{reason})"
        finally:
            # Finals held back for ordering are still worth showing.
            for segment in adapter.flush():
                await self._deliver(segment)

    async def _read(self, ws: ClientConnection, adapter: SourceAdapter) -> None:
        async for frame in ws:
            if isinstance(frame, bytes):
                self._reject("binary frame", frame)
                continue
            try:
                segments = adapter.parse(frame)
            except ProviderError as exc:
                self._reject(f"provider error: {exc}", frame)
                continue
            except SourceFormatError as exc:
                self._reject(str(exc), frame)
                continue
            except Exception:
                logger.exception("source adapter %s failed on a frame", adapter.name)
                self._reject("adapter failure", frame)
                continue
            for segment in segments:
                await self._deliver(segment)

    async def _deliver(self, segment: TranscriptSegment) -> None:
        try:
            await self.on_segment(segment)
        except Exception:
            logger.exception("source segment handler failed (call %s)", segment.call_id)
        else:
            self._delivered = True

    # -- reporting

    def _set_state(self, state: str, detail: str | None) -> None:
        if (state, detail) == (self.state, self.detail):
            return
        self.state, self.detail = state, detail
        try:
            self.on_state(state, detail)
        except Exception:
            logger.exception("source state handler failed")

    def _reject(self, reason: str, frame: str | bytes) -> None:
        """Count an ignored frame; log and report it, at most once per ``report_interval``."""
        self.rejected += 1
        self.last_rejection = f"{reason[:120]}: {_preview(frame)}"
        now = asyncio.get_running_loop().time()
        if now - self._last_report >= self.report_interval:
            self._report_rejections()
        else:
            logger.debug("source %s ignored a frame: %s", redact_url(self.url), self.last_rejection)
            if self._report_timer is None:
                delay = self.report_interval - (now - self._last_report)
                self._report_timer = asyncio.get_running_loop().call_later(
                    delay, self._report_rejections
                )

    def _report_rejections(self) -> None:
        self._report_timer = None
        self._last_report = asyncio.get_running_loop().time()
        if self.state != "connected" or not self.rejected:
            return
        plural = "" if self.rejected == 1 else "s"
        detail = f"ignored {self.rejected} unrecognised frame{plural}; last: {self.last_rejection}"
        logger.warning("source %s: %s", redact_url(self.url), detail)
        self._set_state("connected", detail)

    def _cancel_report(self) -> None:
        if self._report_timer is not None:
            self._report_timer.cancel()
            self._report_timer = None


async def connect_source(relay: Relay, url: str, fmt: str = "auto", **options: Any) -> None:
    """Feed ``relay``'s pipeline from ``url`` until cancelled (``dispatch serve --source``).

    The source's state goes to every client as ``status`` ``source`` / ``detail``.
    """
    pipeline = relay.pipeline
    if pipeline is None:
        raise RuntimeError("relay is not started")
    hub = relay.hub

    async def feed(segment: TranscriptSegment) -> None:
        try:
            await pipeline.feed(segment)
        except BrokerUnavailable as exc:
            logger.warning("transcript of call %s dropped: %s", segment.call_id, exc)

    def report(state: str, detail: str | None) -> None:
        hub.set_status(source=state, detail=detail)

    source = UpstreamSource(url, fmt, feed, report, **options)
    try:
        await source.run()
    finally:
        report("off", None)
