"""The ``native`` format: the relay's own ``publish_transcript`` and ``transcript`` shapes."""

from __future__ import annotations

from typing import ClassVar

from dispatch_tui.server.sources.base import (
    JSONObject,
    ProviderError,
    SourceAdapter,
    SourceFormatError,
    read_flag,
    read_int,
    read_number,
    read_object,
    read_required_text,
    read_text,
)
from dispatch_tui.vocabulary import TranscriptSegment


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
                detail = read_object(message, "data") or {}
                raise ProviderError(str(detail.get("message") or "error event")[:200])
            if event not in self._FEEDS:
                raise SourceFormatError(f"unexpected event {str(event)[:40]!r}")
            payload = read_object(message, "data")
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
                read_required_text(data, "text"),
                call_id=read_text(data, "call_id") or self.call_id,
                is_final=read_flag(data, "is_final", default=True),
                speaker=read_text(data, "speaker"),
                segment_id=segment_id,
                channel=read_int(data, "channel"),
                start_ms=read_int(data, "start_ms"),
                end_ms=read_int(data, "end_ms"),
                confidence=read_number(data, "confidence"),
                utterance_end=read_flag(data, "utterance_end"),
            )
        ]
