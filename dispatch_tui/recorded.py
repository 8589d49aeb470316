"""Recorded calls: read JSON-lines files of calls and play them on a timeline.

Used by ``dispatch replay`` (a client that publishes transcripts), by
``dispatch analyze`` (whole calls, offline) and by the relay's built-in demo.
A file holds either loose segments ``{"speaker", "text", "is_final"?, "at"?,
"call_id"?}`` or whole calls ``{"call_id", "segments": [...], "at"?}``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dispatch_tui.vocabulary import TranscriptSegment

#: A caller speaks about two and a half words a second.
WORDS_PER_SECOND = 2.5
#: Silence between two turns when the file gives no times.
TURN_GAP = 0.6
#: Interim fragments grow by this many words.
INTERIM_STEP = 3
DEFAULT_CALL_ID = "replay-1"


class RecordedSegment(BaseModel):
    model_config = ConfigDict(extra="ignore")

    speaker: str | None = None
    text: str
    is_final: bool = True
    at: float | None = Field(default=None, ge=0)
    call_id: str | None = Field(default=None, min_length=1, max_length=128)


class RecordedCall(BaseModel):
    model_config = ConfigDict(extra="ignore")

    call_id: str = Field(min_length=1, max_length=128)
    segments: list[RecordedSegment]
    at: float = Field(default=0.0, ge=0)
    label: dict[str, Any] | None = None


class RecordingError(ValueError):
    """A line of a recorded-calls file that cannot be read; says which line."""

    def __init__(self, line_number: int, reason: str) -> None:
        super().__init__(f"line {line_number}: {reason}")
        self.line_number = line_number


def parse_lines(lines: Iterable[str]) -> Iterator[tuple[int, RecordedCall | RecordingError]]:
    """Each non-empty line as a call (loose segments become one-segment calls)."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except ValueError as exc:
            yield number, RecordingError(number, f"not valid JSON ({exc})")
            continue
        if not isinstance(raw, dict):
            yield number, RecordingError(number, "expected a JSON object")
            continue
        try:
            if "segments" in raw:
                yield number, RecordedCall.model_validate(raw)
            else:
                segment = RecordedSegment.model_validate(raw)
                call_id = segment.call_id or DEFAULT_CALL_ID
                yield number, RecordedCall(call_id=call_id, segments=[segment])
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            yield number, RecordingError(number, f"{where}: {first['msg']}")


def group_calls(calls: Iterable[RecordedCall]) -> list[RecordedCall]:
    """Merge consecutive loose segments of the same call into one call."""
    merged: dict[str, RecordedCall] = {}
    for call in calls:
        existing = merged.get(call.call_id)
        if existing is None:
            merged[call.call_id] = call.model_copy(deep=True)
        else:
            existing.segments.extend(call.segments)
    return list(merged.values())


@dataclass(frozen=True, slots=True)
class Cue:
    """One fragment and when, in seconds from the start, it is spoken."""

    at: float
    segment: TranscriptSegment


def _speaking_time(text: str) -> float:
    return max(0.4, len(text.split()) / WORDS_PER_SECOND)


def timeline(
    calls: Iterable[RecordedCall], *, interim: bool = True, offset: float = 0.0, tag: str = ""
) -> list[Cue]:
    """Every fragment of every call in time order.

    Segments without ``at`` follow each other at a speaking pace; with
    ``interim``, each final is preceded by growing interim fragments, as a
    live speech-to-text service sends them.
    """
    cues: list[Cue] = []
    for call in calls:
        call_id = f"{call.call_id}{tag}"
        cursor = offset + call.at
        for index, recorded in enumerate(call.segments):
            start = offset + call.at + recorded.at if recorded.at is not None else cursor
            duration = _speaking_time(recorded.text)
            segment_id = f"{call_id}-{index + 1}"
            if recorded.is_final and interim:
                words = recorded.text.split()
                for count in range(INTERIM_STEP, len(words), INTERIM_STEP):
                    cues.append(
                        Cue(
                            start + duration * count / len(words),
                            _segment(call_id, recorded, " ".join(words[:count]), segment_id, False),
                        )
                    )
            final_at = start + duration if recorded.is_final else start
            cues.append(
                Cue(
                    final_at,
                    _segment(call_id, recorded, recorded.text, segment_id, recorded.is_final),
                )
            )
            cursor = final_at + TURN_GAP
    cues.sort(key=lambda cue: cue.at)
    return cues


def _segment(
    call_id: str, recorded: RecordedSegment, text: str, segment_id: str, is_final: bool
) -> TranscriptSegment:
    return TranscriptSegment(
        call_id=call_id,
        text=text,
        is_final=is_final,
        speaker=recorded.speaker,
        segment_id=segment_id,
        utterance_end=is_final,
        provider="replay",
    )


async def play(cues: list[Cue], speed: float = 1.0) -> AsyncIterator[TranscriptSegment]:
    """Yield each cue's fragment at its time (divided by ``speed``)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    for cue in cues:
        delay = started + cue.at / speed - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        yield cue.segment


def demo_calls() -> list[RecordedCall]:
    """The built-in scripted calls shipped with the package."""
    text = resources.files("dispatch_tui.data").joinpath("demo_calls.jsonl").read_text()
    calls: list[RecordedCall] = []
    for _, parsed in parse_lines(text.splitlines()):
        if isinstance(parsed, RecordingError):
            raise parsed
        calls.append(parsed)
    return calls
