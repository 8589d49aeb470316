"""Names the relay and the console share, so neither side imports the other.

The console must run against any relay and never imports ``dispatch_tui.server``;
what both sides must agree on (who speaks for dispatch in a transcript, what
the role of an unauthenticated client is called, what one transcript fragment
holds) lives here.
"""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel, ConfigDict, Field

#: Speaker labels of the call taker; what they say is a question, not evidence.
DISPATCHER_SPEAKERS: Final = frozenset(
    {"dispatcher", "dispatch", "operator", "call taker", "agent"}
)

#: The role of every client when the relay runs without an auth file.
OPEN_ROLE_NAME: Final = "open"


def is_dispatcher_speaker(speaker: str | None) -> bool:
    """Whether a transcript's speaker label is the call taker's."""
    return speaker is not None and speaker.strip().lower() in DISPATCHER_SPEAKERS


class TranscriptSegment(BaseModel):
    """One fragment of a live transcript, whatever its provider."""

    model_config = ConfigDict(frozen=True)

    call_id: str = Field(min_length=1, max_length=128)
    text: str = Field(max_length=10_000)
    is_final: bool = True
    segment_id: str | None = None
    speaker: str | None = None
    channel: int | None = None
    start_ms: int | None = None
    end_ms: int | None = None
    confidence: float | None = None
    provider: str = "native"
    #: The provider says the speaker finished an utterance with this fragment.
    utterance_end: bool = False
