"""The ``assemblyai`` format: AssemblyAI Universal-Streaming (v3) turns."""

from __future__ import annotations

from dispatch_tui.server.sources.base import (
    DEFAULT_CALL_ID,
    JSONObject,
    ProviderError,
    SourceAdapter,
    SourceFormatError,
    mean_confidence,
    read_flag,
    read_int,
    read_milliseconds,
    read_objects,
    read_text,
    speaker_label,
)
from dispatch_tui.vocabulary import TranscriptSegment


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
            self.session_id = read_text(message, "id")
            return []
        if kind == "Termination":
            return self.flush()
        if kind == "SpeechStarted":
            return []
        if kind is None and "error" in message:
            raise ProviderError(str(message["error"])[:200])
        raise SourceFormatError(f"unknown assemblyai message type {str(kind)[:40]!r}")

    def _turn(self, message: JSONObject) -> list[TranscriptSegment]:
        order = read_int(message, "turn_order")
        if order is None:
            raise SourceFormatError("Turn without 'turn_order'")
        end_of_turn = read_flag(message, "end_of_turn")
        formatted = read_flag(message, "turn_is_formatted")
        self._formatted_turns = self._formatted_turns or formatted
        released = self._release(before=order)
        if order <= self._last_final:
            return released  # the formatted repeat of a turn already final
        words = read_objects(message, "words")
        transcript = (read_text(message, "transcript") or "").strip()
        if not end_of_turn and words:
            # Partials: ``transcript`` holds the settled words, ``words`` also the next one.
            transcript = " ".join(str(word.get("text") or "") for word in words).strip()
        segment = self._segment(
            transcript,
            is_final=end_of_turn,
            utterance_end=end_of_turn,
            segment_id=f"aai-{self.session}-{order}",
            speaker=speaker_label(message.get("speaker_label")),
            start_ms=read_milliseconds(words[0], "start") if words else None,
            end_ms=read_milliseconds(words[-1], "end") if words else None,
            confidence=mean_confidence(words),
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
