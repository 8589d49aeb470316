"""The console's drawn lines are freed by refcounting, not left to the garbage collector."""

from __future__ import annotations

import gc

from rich.segment import Segment
from textual.strip import Strip

from dispatch_tui.collector import stop_strip_self_cycles


def _texts(strips: list[Strip]) -> list[str]:
    return [strip.text for strip in strips]


def test_strip_operations_that_change_nothing_leave_no_cycle_and_the_same_results() -> None:
    stop_strip_self_cycles()
    gc.collect()
    gc.disable()
    try:
        for _ in range(50):
            strip = Strip([Segment("hello "), Segment("world")])
            assert strip.crop_extend(0, 11, None) is strip
            assert strip.adjust_cell_length(11) is strip
            assert strip.divide([11]) == [strip]
            assert strip.divide([11, 20]) == [strip]
            assert strip.crop_extend(0, 13, None).text == "hello world  "
            assert strip.crop_extend(6, 11, None).text == "world"
            assert strip.adjust_cell_length(5).text == "hello"
            assert _texts(strip.divide([6, 11])) == ["hello ", "world"]
        del strip
        assert gc.collect() == 0
    finally:
        gc.enable()
