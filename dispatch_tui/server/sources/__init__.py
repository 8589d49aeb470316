"""Upstream transcription sources: one adapter per provider format, and the connection.

Each adapter (one module per provider) turns its provider's frames into
transcript segments; :mod:`~dispatch_tui.server.sources.registry` lists them by
the format name each declares; :mod:`~dispatch_tui.server.sources.upstream`
keeps the WebSocket to the source open and feeds the relay's pipeline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dispatch_tui.server.sources.assemblyai import AssemblyAIAdapter
from dispatch_tui.server.sources.auto import AutoAdapter
from dispatch_tui.server.sources.base import ProviderError, SourceAdapter, SourceFormatError
from dispatch_tui.server.sources.deepgram import DeepgramAdapter
from dispatch_tui.server.sources.native import NativeAdapter
from dispatch_tui.server.sources.openai import OpenAIAdapter
from dispatch_tui.server.sources.registry import ADAPTERS, SOURCE_FORMATS, make_adapter
from dispatch_tui.server.sources.text import TextAdapter

if TYPE_CHECKING:
    from dispatch_tui.server.sources.upstream import UpstreamSource, connect_source, redact_url

__all__ = [
    "ADAPTERS",
    "SOURCE_FORMATS",
    "AssemblyAIAdapter",
    "AutoAdapter",
    "DeepgramAdapter",
    "NativeAdapter",
    "OpenAIAdapter",
    "ProviderError",
    "SourceAdapter",
    "SourceFormatError",
    "TextAdapter",
    "UpstreamSource",
    "connect_source",
    "make_adapter",
    "redact_url",
]

if not TYPE_CHECKING:  # mypy reads the imports above, and flags any other name

    def __getattr__(name: str) -> Any:
        """The connection's names, loaded with websockets on first use: reading the
        formats (``dispatch --help`` lists them) does not need them."""
        if name in {"UpstreamSource", "connect_source", "redact_url"}:
            from dispatch_tui.server.sources import upstream

            return getattr(upstream, name)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
