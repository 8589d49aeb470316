"""Background tasks of the relay, none of which may die silently.

A task that ends with an exception is logged with its name and traceback at
once, instead of the exception waiting (maybe forever) for someone to await
the task. Every background task of the relay is started here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

logger = logging.getLogger(__name__)


def start_task(
    work: Coroutine[Any, Any, None], name: str, keep: set[asyncio.Task[None]] | None = None
) -> asyncio.Task[None]:
    """Run ``work`` in the background; ``keep`` holds the task until it is done."""
    task = asyncio.get_running_loop().create_task(work, name=name)
    if keep is not None:
        keep.add(task)
        task.add_done_callback(keep.discard)
    task.add_done_callback(report_failure)
    return task


def report_failure(task: asyncio.Task[None]) -> None:
    """Log a task that ended with an exception (a cancelled one is not a failure)."""
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        logger.error(
            "%s stopped: %r",
            task.get_name(),
            error,
            exc_info=error,
            extra={"task": task.get_name()},
        )
