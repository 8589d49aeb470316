"""The relay's background tasks report how they ended: none dies silently."""

from __future__ import annotations

import asyncio
import logging

import pytest

from dispatch_tui.server.tasks import start_task


async def test_a_task_that_fails_is_logged_with_its_name_and_forgotten(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken() -> None:
        raise RuntimeError("the log stream went away")

    keep: set[asyncio.Task[None]] = set()
    task = start_task(broken(), "redis-log", keep)
    assert task in keep
    with caplog.at_level(logging.ERROR, logger="dispatch_tui.server.tasks"):
        await asyncio.gather(task, return_exceptions=True)
        await asyncio.sleep(0)  # done callbacks run on the next turn
    assert not keep
    [record] = caplog.records
    assert "redis-log stopped" in record.getMessage()
    assert "the log stream went away" in record.getMessage()
    assert record.exc_info is not None


async def test_a_cancelled_or_finished_task_is_not_a_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stopped = start_task(asyncio.sleep(60), "keepalive")
    finished = start_task(asyncio.sleep(0), "ping")
    stopped.cancel()
    with caplog.at_level(logging.ERROR, logger="dispatch_tui.server.tasks"):
        await asyncio.gather(stopped, finished, return_exceptions=True)
        await asyncio.sleep(0)
    assert not caplog.records
