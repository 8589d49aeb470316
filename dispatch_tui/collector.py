"""Keep the console's garbage collector from stalling keystrokes on a busy floor.

Every drawn line is a Textual ``Strip``. When cropping, resizing or dividing one
changes nothing, Textual stores the strip in its own cache: a reference cycle that
refcounting cannot free, so each line drawn became garbage for the collector
(with its seven caches and its segments, about 20 objects), and the longer
collections that this garbage fed stalled keys for tens of milliseconds.
:func:`stop_strip_self_cycles` returns the strip itself without caching it,
which is what the cache would have returned anyway.

What garbage is left, :class:`GapCollector` collects between keystrokes, in the
gaps that :class:`KeyGaps` finds; the console's panes wait for them too.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Iterable, Sequence

from rich.style import Style
from textual.strip import Strip

#: Allocations between young-generation collections. A busy floor creates many
#: short-lived objects per event; Python's default (700) collected hundreds of
#: times a second.
YOUNG_THRESHOLD = 10_000


_crop_extend = Strip.crop_extend
_adjust_cell_length = Strip.adjust_cell_length
_divide = Strip.divide


def _crop_extend_uncached_self(self: Strip, start: int, end: int, style: Style | None) -> Strip:
    if start == 0 and end == self.cell_length:
        return self
    return _crop_extend(self, start, end, style)


def _adjust_cell_length_uncached_self(
    self: Strip, cell_length: int, style: Style | None = None
) -> Strip:
    if cell_length == self.cell_length:
        return self
    return _adjust_cell_length(self, cell_length, style)


def _divide_uncached_self(self: Strip, cuts: Iterable[int]) -> Sequence[Strip]:
    within = [cut for cut in cuts if cut <= self.cell_length]
    if within == [self.cell_length]:
        return [self]
    return _divide(self, within)


def stop_strip_self_cycles() -> None:
    """An unchanged strip comes back from a crop, resize or divide without entering its cache."""
    Strip.crop_extend = _crop_extend_uncached_self  # type: ignore[method-assign]
    Strip.adjust_cell_length = _adjust_cell_length_uncached_self  # type: ignore[method-assign]
    Strip.divide = _divide_uncached_self  # type: ignore[method-assign]


class KeyGaps:
    """When a typist's next key is least likely: just after one was drawn, or nobody types.

    A key is drawn within a screen update or two; from ``drawn`` to
    ``next_key_soonest`` seconds after it the next one is furthest away, and
    once nobody has typed for ``not_typing`` seconds no key is expected at all.
    Work that would hold a key up (a collection, a pane's layout) waits for one.
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        *,
        drawn: float = 0.03,
        next_key_soonest: float = 0.12,
        not_typing: float = 1.0,
    ) -> None:
        self.clock = clock
        self._gap = (drawn, next_key_soonest)
        self._not_typing = not_typing
        #: When the last key was pressed (on ``clock``).
        self.last_key = -math.inf

    def key_pressed(self) -> None:
        self.last_key = self.clock()

    def open(self, now: float) -> bool:
        since_key = now - self.last_key
        return self._gap[0] <= since_key <= self._gap[1] or since_key >= self._not_typing


class GapWait:
    """Work held back for a gap between keys, but never longer than ``longest_wait`` seconds."""

    def __init__(self, gaps: KeyGaps, longest_wait: float) -> None:
        self._gaps = gaps
        self._longest_wait = longest_wait
        self._due_since: float | None = None

    def may_run(self) -> bool:
        """Asked while the work is due: True in a gap, or once it has waited too long."""
        now = self._gaps.clock()
        if self._due_since is None:
            self._due_since = now
        if self._gaps.open(now) or now - self._due_since >= self._longest_wait:
            self._due_since = None
            return True
        return False


class GapCollector:
    """Collects garbage in the gaps between keystrokes, not whenever a threshold is crossed.

    Python's automatic collection runs in the middle of whatever allocates,
    and a collection of the older generations takes tens of milliseconds: a
    key typed then waits for it. This one is driven by :meth:`tick` (a timer):
    once enough was allocated it collects, as Python would, but in a gap
    between keys (:class:`KeyGaps`), or once a due collection has waited
    ``longest_wait`` seconds. Generations are chosen by Python's thresholds:
    the middle one once more young collections than its threshold ran since
    the last, all of them likewise after middle ones (without Python's rule
    that also waits for the old generation to grow by a quarter: full
    collections come a little more often).
    """

    def __init__(
        self,
        gaps: KeyGaps,
        *,
        young: int = YOUNG_THRESHOLD,
        longest_wait: float = 2.0,
        counts: Callable[[], tuple[int, int, int]] = gc.get_count,
        collect: Callable[[int], object] = gc.collect,
    ) -> None:
        self._young = young
        self._wait = GapWait(gaps, longest_wait)
        self._counts = counts
        self._collect = collect
        _, self._middle_every, self._old_every = gc.get_threshold()
        self._was_enabled = gc.isenabled()

    def start(self) -> None:
        """Take over from Python's automatic collection, after moving start-up objects out."""
        stop_strip_self_cycles()
        self._was_enabled = gc.isenabled()
        gc.collect()
        gc.freeze()
        gc.disable()

    def stop(self) -> None:
        """Hand collection back to Python, as it was before :meth:`start`."""
        if self._was_enabled:
            gc.enable()

    def tick(self) -> int | None:
        """Collect if it is due and no key is waiting to be drawn; returns the generation."""
        young, middle, old = self._counts()
        if young < self._young or not self._wait.may_run():
            return None
        if old > self._old_every:
            generation = 2
        elif middle > self._middle_every:
            generation = 1
        else:
            generation = 0
        self._collect(generation)
        return generation
