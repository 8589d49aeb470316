"""The interface every call-classifying agent implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dispatch_tui.protocol import Suggestion
from dispatch_tui.vocabulary import is_dispatcher_speaker


@dataclass(frozen=True, slots=True)
class Segment:
    """One utterance of a call; ``speaker`` None means unknown (treated as the caller)."""

    speaker: str | None
    text: str


def is_dispatcher(segment: Segment) -> bool:
    """Whether the call taker said it: a question, not evidence."""
    return is_dispatcher_speaker(segment.speaker)


class Agent(ABC):
    """Reads a call's segments so far and suggests incident type, priority and advice."""

    name: str = "agent"
    #: Told ``(ok, detail)`` when the agent's backend fails or recovers; the
    #: relay sets it to report ``status`` ``agent: error``/``ready``.
    on_health: Callable[[bool, str | None], None] | None = None

    @abstractmethod
    async def suggest(self, segments: Sequence[Segment]) -> Suggestion:
        """Return the advice for the call as transcribed so far."""
