"""The console keeps garbage collection and screen updates out of a keystroke's way."""

from __future__ import annotations

import gc
import os
import subprocess
import sys

from rich.segment import Segment
from textual.strip import Strip

from dispatch_tui.app import FRAMES_PER_SECOND
from dispatch_tui.collector import GapCollector, GapWait, KeyGaps, stop_strip_self_cycles


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


class FakeGc:
    """Python's collector counts, as ``gc.get_count`` gives them, and the collections asked for."""

    def __init__(self) -> None:
        self.young = 0
        self.middle = 0
        self.old = 0
        self.collected: list[int] = []

    def counts(self) -> tuple[int, int, int]:
        return self.young, self.middle, self.old

    def collect(self, generation: int) -> int:
        """As CPython does: the collected generations start again, the next one counts one."""
        self.collected.append(generation)
        self.young = 0
        if generation == 0:
            self.middle += 1
        elif generation == 1:
            self.middle, self.old = 0, self.old + 1
        else:
            self.middle = self.old = 0
        return 0


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def key_gaps(clock: Clock) -> KeyGaps:
    return KeyGaps(clock, drawn=0.03, next_key_soonest=0.12, not_typing=1.0)


def gap_collector(fake: FakeGc, gaps: KeyGaps) -> GapCollector:
    return GapCollector(
        gaps, young=1000, longest_wait=2.0, counts=fake.counts, collect=fake.collect
    )


def test_the_collector_waits_for_enough_garbage_and_for_a_gap_after_a_key() -> None:
    fake, clock = FakeGc(), Clock()
    gaps = key_gaps(clock)
    collector = gap_collector(fake, gaps)
    fake.young = 999
    assert collector.tick() is None  # not enough allocated yet
    fake.young = 1000
    gaps.key_pressed()
    assert collector.tick() is None  # the key is not on screen yet
    clock.now += 0.05
    assert collector.tick() == 0  # just after the key was drawn
    assert fake.collected == [0]


def test_a_key_due_soon_holds_the_collection_back_until_the_longest_wait() -> None:
    fake, clock = FakeGc(), Clock()
    gaps = key_gaps(clock)
    collector = gap_collector(fake, gaps)
    fake.young = 5000
    gaps.key_pressed()
    clock.now += 0.5  # past the gap after this key: the next key may come at any moment
    assert collector.tick() is None
    for _ in range(18):  # a typist who keeps on, a key every 100 ms, ticks in between
        clock.now += 0.1
        gaps.key_pressed()
        clock.now += 0.01
        assert collector.tick() is None
    clock.now += 0.09
    gaps.key_pressed()
    clock.now += 0.01  # no gap: a key was just pressed
    assert collector.tick() == 0  # due for 2 s: collected whatever the keys
    clock.now += 2.0  # nobody types
    fake.young = 5000
    assert collector.tick() == 0


def test_work_waits_for_a_gap_after_a_key_but_not_longer_than_its_longest_wait() -> None:
    clock = Clock()
    gaps = key_gaps(clock)
    wait = GapWait(gaps, longest_wait=0.3)
    assert wait.may_run()  # nobody has typed
    gaps.key_pressed()
    clock.now += 0.01
    assert not wait.may_run()  # the key is not drawn yet
    clock.now += 0.04
    assert wait.may_run()  # just after it was
    clock.now += 0.1
    assert not wait.may_run()  # the next key may come at any moment
    clock.now += 0.25
    assert not wait.may_run()
    clock.now += 0.06
    assert wait.may_run()  # waited 0.3 s: runs whatever the keys
    clock.now += 0.01
    assert not wait.may_run()  # due again: waits again
    clock.now += 1.0
    assert wait.may_run()  # nobody types any more


def test_generations_are_chosen_as_python_chooses_them() -> None:
    """The middle generation once more than threshold1 young collections ran since, and so on."""
    fake, clock = FakeGc(), Clock()
    gaps = key_gaps(clock)
    collector = gap_collector(fake, gaps)
    _, middle_every, old_every = gc.get_threshold()
    generations = []
    for _ in range((middle_every + 2) * (old_every + 2)):
        fake.young = 1000
        generations.append(collector.tick())
    assert generations[: middle_every + 1] == [0] * (middle_every + 1)
    assert generations[middle_every + 1] == 1
    first_full = generations.index(2)
    assert generations[:first_full].count(1) == old_every + 1


def _update_period(environment: dict[str, str]) -> float:
    """The screens' update period in a fresh console process (Textual reads it once)."""
    script = "import dispatch_tui.app, textual.screen; print(textual.screen.UPDATE_PERIOD)"
    env = {key: value for key, value in os.environ.items() if key != "TEXTUAL_FPS"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={**env, **environment},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return float(result.stdout)


def test_the_console_updates_the_screen_sooner_unless_the_user_chose_a_rate() -> None:
    assert _update_period({}) == 1 / FRAMES_PER_SECOND
    assert _update_period({"TEXTUAL_FPS": "30"}) == 1 / 30
