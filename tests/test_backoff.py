"""The reconnect backoff: growth, cap, jitter bounds, and a fresh series after a success."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator

import pytest

from dispatch_tui.backoff import delays


def first(count: int, series: Iterator[float]) -> list[float]:
    return list(itertools.islice(series, count))


def test_without_randomness_the_ceiling_doubles_then_stays_at_the_cap() -> None:
    top = first(8, delays(0.5, 30.0, rand=lambda: 1.0))
    assert top == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def test_the_factor_sets_the_growth() -> None:
    assert first(4, delays(1.0, 100.0, 3.0, rand=lambda: 1.0)) == [1.0, 3.0, 9.0, 27.0]
    assert first(3, delays(60.0, 60.0, 1.0, rand=lambda: 1.0)) == [60.0, 60.0, 60.0]


def test_equal_jitter_keeps_each_wait_between_half_and_all_of_its_ceiling() -> None:
    assert first(4, delays(1.0, 8.0, rand=lambda: 0.0)) == [0.5, 1.0, 2.0, 4.0]
    assert first(3, delays(1.0, 8.0, rand=lambda: 0.5)) == [0.75, 1.5, 3.0]
    rng = random.Random(7)
    for attempt, wait in enumerate(first(40, delays(0.25, 15.0, rand=rng.random))):
        ceiling = min(15.0, 0.25 * 2.0**attempt)
        assert ceiling / 2 <= wait <= ceiling


def test_full_and_no_jitter() -> None:
    assert first(3, delays(1.0, 8.0, jitter=1.0, rand=lambda: 0.0)) == [0.0, 0.0, 0.0]
    assert first(3, delays(1.0, 8.0, jitter=1.0, rand=lambda: 0.25)) == [0.25, 0.5, 1.0]
    assert first(3, delays(1.0, 8.0, jitter=0.0, rand=lambda: 0.9)) == [1.0, 2.0, 4.0]


def test_the_default_source_of_randomness_spreads_the_waits() -> None:
    waits = {next(delays(1.0, 8.0)) for _ in range(20)}
    assert len(waits) > 1
    assert all(0.5 <= wait <= 1.0 for wait in waits)


def test_a_fresh_series_starts_again_from_the_shortest_wait() -> None:
    series = delays(0.5, 30.0, rand=lambda: 1.0)
    assert first(5, series) == [0.5, 1.0, 2.0, 4.0, 8.0]
    assert next(series) == 16.0
    assert next(delays(0.5, 30.0, rand=lambda: 1.0)) == 0.5


def test_the_series_never_ends_nor_overflows() -> None:
    series = delays(0.5, 30.0, rand=lambda: 1.0)
    for _ in range(5000):
        last = next(series)
    assert last == 30.0


@pytest.mark.parametrize("initial", [40.0, 30.0])
def test_a_first_wait_above_the_cap_is_capped(initial: float) -> None:
    assert first(2, delays(initial, 30.0, rand=lambda: 1.0)) == [30.0, 30.0]
