"""The ``deepgram`` format: Deepgram's live streaming results."""

from __future__ import annotations

from typing import Any, ClassVar

from dispatch_tui.server.sources.base import (
    DEFAULT_CALL_ID,
    JSONObject,
    ProviderError,
    SourceAdapter,
    SourceFormatError,
    mean_confidence,
    read_flag,
    read_number,
    read_object,
    read_objects,
    read_text,
    read_typed,
    seconds_to_ms,
    speaker_label,
)
from dispatch_tui.vocabulary import TranscriptSegment


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
        index = read_typed(message, key, list, "a list") or []
        numbers = [n for n in index if isinstance(n, int) and not isinstance(n, bool)]
        channel = numbers[0] if numbers else 0
        return channel, numbers[1] if len(numbers) > 1 else 1

    def _results(self, message: JSONObject) -> list[TranscriptSegment]:
        channel_data = read_object(message, "channel")
        if channel_data is None:
            raise SourceFormatError("Results without 'channel'")
        alternatives = read_objects(channel_data, "alternatives")
        best = alternatives[0] if alternatives else {}
        transcript = (read_text(best, "transcript") or "").strip()
        is_final = read_flag(message, "is_final")
        speech_final = read_flag(message, "speech_final") and is_final
        start = read_number(message, "start") or 0.0
        duration = read_number(message, "duration") or 0.0
        channel, channels = self._channel(message, "channel_index")
        start_ms = seconds_to_ms(start)
        base_id = f"dg-{self.session}-{channel}-{start_ms}"
        common: dict[str, Any] = {"is_final": is_final, "channel": channel}
        was_open = self._open.get(channel, False)
        self._open[channel] = (was_open or bool(transcript)) and not speech_final
        if not transcript:
            if speech_final and was_open:
                end_ms = seconds_to_ms(start + duration)
                marker_id = f"{base_id}-end"
                return [
                    self._segment(
                        "", utterance_end=True, segment_id=marker_id, end_ms=end_ms, **common
                    )
                ]
            return []
        words = read_objects(best, "words")
        fallback = f"channel {channel}" if channels > 1 else None
        runs = self._speaker_runs(words) if is_final else []
        if len(runs) <= 1:
            speaker = speaker_label(words[0].get("speaker")) if words else None
            return [
                self._segment(
                    transcript,
                    segment_id=base_id,
                    speaker=speaker or fallback,
                    start_ms=start_ms,
                    end_ms=seconds_to_ms(start + duration),
                    confidence=read_number(best, "confidence"),
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
                    start_ms=seconds_to_ms(read_number(run[0], "start")),
                    end_ms=seconds_to_ms(read_number(run[-1], "end")),
                    confidence=mean_confidence(run),
                    utterance_end=speech_final and number == len(runs) - 1,
                    **common,
                )
            )
        return segments

    @staticmethod
    def _speaker_runs(words: list[JSONObject]) -> list[tuple[str | None, list[JSONObject]]]:
        runs: list[tuple[str | None, list[JSONObject]]] = []
        for word in words:
            speaker = speaker_label(word.get("speaker"))
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
        end_ms = seconds_to_ms(read_number(message, "last_word_end"))
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
