"""Live calls: the fragments of one call buffered into clean text.

Sources (upstream speech-to-text adapters, ``publish_transcript``, replays, the
demo) all produce :class:`~dispatch_tui.vocabulary.TranscriptSegment`. A
:class:`CallBuffer` turns the fragments of one call into clean text: an
interim fragment replaces the previous interim of its segment, and repeated
or overlapping finals are merged rather than shown twice.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from dispatch_tui.server.agents.base import Segment
from dispatch_tui.vocabulary import TranscriptSegment

_WORD = re.compile(r"\w+(?:'\w+)?")


def _words(text: str) -> list[str]:
    return [word.lower() for word in _WORD.findall(text)]


def merge_overlap(previous: str, new: str) -> str:
    """The part of ``new`` that ``previous`` does not already end with.

    Providers resend finals or send ones that overlap the last words of the
    one before; the longest word-level overlap is cut so nothing shows twice.
    """
    before, after = _words(previous), _words(new)
    if not after:
        return ""
    if after == before[-len(after) :]:
        return ""
    for size in range(min(len(before), len(after)), 0, -1):
        if before[-size:] == after[:size]:
            matches = list(_WORD.finditer(new))
            return new[matches[size - 1].end() :].lstrip(" ,.;:!?")
    return new


@dataclass(slots=True)
class Utterance:
    """Final text of one segment (one speaker turn)."""

    key: str
    speaker: str | None
    text: str
    start_ms: int | None = None


@dataclass(slots=True)
class CallBuffer:
    """The transcript of one call so far, and how much the agent has not read."""

    call_id: str
    utterances: list[Utterance] = field(default_factory=list)
    interim: dict[str, TranscriptSegment] = field(default_factory=dict)
    unread_chars: int = 0
    _by_key: dict[str, Utterance] = field(default_factory=dict)

    def add(self, segment: TranscriptSegment) -> str | None:
        """Take one fragment; returns the new final text to show, if any."""
        key = segment.segment_id or f"auto-{len(self.utterances)}"
        if not segment.is_final:
            self.interim[key] = segment
            return None
        self.interim.pop(key, None)
        if segment.segment_id is None:
            self.interim.clear()
        text = segment.text.strip()
        if not text:
            return None
        existing = self._by_key.get(key) if segment.segment_id is not None else None
        last = self.utterances[-1] if self.utterances else None
        if existing is not None:
            added = merge_overlap(existing.text, text)
            if added:
                existing.text = f"{existing.text} {added}"
        elif last is not None and last.speaker == segment.speaker:
            added = merge_overlap(last.text, text)
            if added == text:
                utterance = Utterance(key, segment.speaker, text, segment.start_ms)
                self._append(utterance)
            elif added:
                last.text = f"{last.text} {added}"
        else:
            added = text
            self._append(Utterance(key, segment.speaker, text, segment.start_ms))
        self.unread_chars += len(added)
        return added or None

    def _append(self, utterance: Utterance) -> None:
        self.utterances.append(utterance)
        self._by_key[utterance.key] = utterance

    def segments(self) -> Sequence[Segment]:
        """The whole call so far, as the agent reads it."""
        return [Segment(u.speaker, u.text) for u in self.utterances]

    def mark_read(self) -> None:
        self.unread_chars = 0
