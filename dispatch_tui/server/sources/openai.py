"""The ``openai`` format: OpenAI Realtime input transcription events."""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import ClassVar

from dispatch_tui.server.sources.base import (
    DEFAULT_CALL_ID,
    JSONObject,
    ProviderError,
    SourceAdapter,
    SourceFormatError,
    read_int,
    read_object,
    read_required_text,
    read_text,
)
from dispatch_tui.vocabulary import TranscriptSegment

logger = logging.getLogger(__name__)


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
            error = read_object(message, "error") or {}
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
            item_id = read_required_text(message, "item_id")
            logger.warning("openai source: transcription failed for item %s", item_id[:64])
            return self._complete(item_id, None)
        if "." in kind:
            return []  # session.created, response.*, rate_limits.updated...: not transcripts
        raise SourceFormatError(f"unknown openai event type {kind[:40]!r}")

    def _committed(self, message: JSONObject) -> list[TranscriptSegment]:
        item_id = read_required_text(message, "item_id")
        previous = read_text(message, "previous_item_id")
        if item_id in self._order or item_id in self._finished:
            return []
        if previous in self._order:
            self._order.insert(self._order.index(previous) + 1, item_id)
        else:
            self._order.append(item_id)
        return self._release()

    def _speech_time(self, message: JSONObject) -> None:
        item_id = read_text(message, "item_id")
        if item_id is None or item_id in self._finished:
            return
        times = self._times.setdefault(item_id, {})
        for key, field in (("audio_start_ms", "start_ms"), ("audio_end_ms", "end_ms")):
            value = read_int(message, key)
            if value is not None:
                times[field] = value

    def _delta(self, message: JSONObject) -> list[TranscriptSegment]:
        item_id = read_required_text(message, "item_id")
        if item_id in self._finished or item_id in self._ready:
            return []
        text = self._interim.get(item_id, "") + (read_text(message, "delta") or "")
        self._interim[item_id] = text
        if not text.strip():
            return []
        return [self._item_segment(item_id, text.strip(), final=False)]

    def _completed(self, message: JSONObject) -> list[TranscriptSegment]:
        item_id = read_required_text(message, "item_id")
        transcript = (read_text(message, "transcript") or "").strip()
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
