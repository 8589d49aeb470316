"""The source formats, as the adapters name themselves: ``--source-format`` offers these."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from dispatch_tui.server.sources.assemblyai import AssemblyAIAdapter
from dispatch_tui.server.sources.auto import AutoAdapter
from dispatch_tui.server.sources.base import DEFAULT_CALL_ID, SourceAdapter
from dispatch_tui.server.sources.deepgram import DeepgramAdapter
from dispatch_tui.server.sources.native import NativeAdapter
from dispatch_tui.server.sources.openai import OpenAIAdapter
from dispatch_tui.server.sources.text import TextAdapter

#: Every adapter, in the order help and error messages list their formats.
ADAPTERS: Final[tuple[type[SourceAdapter], ...]] = (
    AutoAdapter,
    NativeAdapter,
    DeepgramAdapter,
    AssemblyAIAdapter,
    OpenAIAdapter,
    TextAdapter,
)
_BY_FORMAT: Final[Mapping[str, type[SourceAdapter]]] = {
    adapter.name: adapter for adapter in ADAPTERS
}
#: Values of ``--source-format``.
SOURCE_FORMATS: Final = tuple(_BY_FORMAT)


def make_adapter(
    fmt: str, *, call_id: str = DEFAULT_CALL_ID, session: str | None = None
) -> SourceAdapter:
    """A fresh adapter for ``--source-format fmt``; ValueError for an unknown format."""
    try:
        adapter_class = _BY_FORMAT[fmt]
    except KeyError:
        raise ValueError(f"unknown source format {fmt!r}; use one of {SOURCE_FORMATS}") from None
    return adapter_class(call_id=call_id, session=session)
