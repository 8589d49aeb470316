"""The ``text`` format: every text frame is final transcript text, one segment a line."""

from __future__ import annotations

from dispatch_tui.server.sources.base import (
    DEFAULT_CALL_ID,
    JSONObject,
    SourceAdapter,
    SourceFormatError,
)
from dispatch_tui.untrusted import strip_controls
from dispatch_tui.vocabulary import TranscriptSegment


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
