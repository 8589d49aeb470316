"""The ``auto`` format: each frame is recognised by its shape and read by that format's adapter."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Final

from dispatch_tui.server.sources.assemblyai import AssemblyAIAdapter
from dispatch_tui.server.sources.base import (
    DEFAULT_CALL_ID,
    JSONObject,
    SourceAdapter,
    SourceFormatError,
    decode_object,
)
from dispatch_tui.server.sources.deepgram import DeepgramAdapter
from dispatch_tui.server.sources.native import NativeAdapter
from dispatch_tui.server.sources.openai import OpenAIAdapter
from dispatch_tui.server.sources.text import TextAdapter
from dispatch_tui.vocabulary import TranscriptSegment

#: The formats a frame can turn out to be in, by name.
_RECOGNISED: Final[Mapping[str, type[SourceAdapter]]] = {
    adapter.name: adapter
    for adapter in (NativeAdapter, DeepgramAdapter, AssemblyAIAdapter, OpenAIAdapter, TextAdapter)
}


class AutoAdapter(SourceAdapter):
    """Recognises each frame by its shape and hands it to that format's adapter.

    JSON objects are told apart by ``event`` / ``type``; frames that are not JSON
    (and do not look like broken JSON) are plain text lines.
    """

    name = "auto"
    _TYPES: ClassVar[Mapping[str, str]] = {
        "Results": DeepgramAdapter.name,
        "UtteranceEnd": DeepgramAdapter.name,
        "Metadata": DeepgramAdapter.name,
        "Error": DeepgramAdapter.name,
        "Begin": AssemblyAIAdapter.name,
        "Turn": AssemblyAIAdapter.name,
        "Termination": AssemblyAIAdapter.name,
        "error": OpenAIAdapter.name,
    }

    def __init__(self, *, call_id: str = DEFAULT_CALL_ID, session: str | None = None) -> None:
        super().__init__(call_id=call_id, session=session)
        self.adapters: dict[str, SourceAdapter] = {}

    def parse(self, frame: str) -> list[TranscriptSegment]:
        if not frame.lstrip().startswith(("{", "[")):
            return self._adapter(TextAdapter.name).parse(frame)
        return self.parse_object(decode_object(frame))

    def _parse(self, message: JSONObject) -> list[TranscriptSegment]:
        return self._adapter(self.detect(message)).parse_object(message)

    def detect(self, message: JSONObject) -> str:
        """The format a decoded frame is in, or :class:`SourceFormatError`."""
        kind = message.get("type")
        if "event" in message:
            return NativeAdapter.name
        if isinstance(kind, str):
            if kind in self._TYPES:
                return self._TYPES[kind]
            if kind == "SpeechStarted":  # Deepgram and AssemblyAI both send it; both skip it
                if AssemblyAIAdapter.name in self.adapters:
                    return AssemblyAIAdapter.name
                return DeepgramAdapter.name
            if "." in kind:
                return OpenAIAdapter.name
        elif kind is None:
            if "text" in message:
                return NativeAdapter.name
            if "error" in message:
                return AssemblyAIAdapter.name
        raise SourceFormatError("unrecognised frame shape")

    def _adapter(self, fmt: str) -> SourceAdapter:
        adapter = self.adapters.get(fmt)
        if adapter is None:
            adapter_class = _RECOGNISED[fmt]
            adapter = self.adapters[fmt] = adapter_class(call_id=self.call_id, session=self.session)
        return adapter

    def flush(self) -> list[TranscriptSegment]:
        return [segment for adapter in self.adapters.values() for segment in adapter.flush()]
