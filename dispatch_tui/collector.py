"""Keep the console's garbage collector from stalling keystrokes on a busy floor.

Every drawn line is a Textual ``Strip``. When cropping, resizing or dividing one
changes nothing, Textual stores the strip in its own cache: a reference cycle that
refcounting cannot free, so each line drawn became garbage for the collector
(with its seven caches and its segments, about 20 objects), and the longer
collections that this garbage fed stalled keys for tens of milliseconds.
:func:`stop_strip_self_cycles` returns the strip itself without caching it,
which is what the cache would have returned anyway.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Sequence

from rich.style import Style
from textual.strip import Strip

#: Allocations between young-generation collections. A busy floor creates many
#: short-lived objects per event; Python's default (700) collected hundreds of
#: times a second and stalled keystrokes for tens of milliseconds.
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


def calm_the_collector() -> None:
    """Move the objects of start-up out of the collector's way and collect less often.

    Reference cycles are still collected; only their cost per event drops.
    """
    stop_strip_self_cycles()
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
