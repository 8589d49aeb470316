"""The built-in demo source: scripted calls played in a loop, as a live feed."""

from __future__ import annotations

import asyncio
import itertools
import logging

from dispatch_tui.recorded import demo_calls, play, timeline
from dispatch_tui.server.broker import BrokerUnavailable
from dispatch_tui.server.pipeline import CallPipeline

logger = logging.getLogger(__name__)

#: Quiet time between two rounds of the demo calls.
PAUSE_BETWEEN_ROUNDS = 8.0


async def play_demo(pipeline: CallPipeline, speed: float = 1.0, rounds: int | None = None) -> None:
    """Feed the demo calls to the pipeline, round after round.

    Each round gets fresh call ids, so consoles see new calls rather than old
    ones growing.
    """
    pipeline.hub.set_status(source="connected", detail="demo calls")
    calls = demo_calls()
    counter = itertools.count(1) if rounds is None else iter(range(1, rounds + 1))
    for round_number in counter:
        tag = "" if round_number == 1 else f"-r{round_number}"
        logger.info("demo round %d", round_number)
        async for segment in play(timeline(calls, tag=tag), speed):
            try:
                await pipeline.feed(segment)
            except BrokerUnavailable as exc:
                logger.warning("demo transcript dropped: %s", exc)
        await asyncio.sleep(PAUSE_BETWEEN_ROUNDS / speed)
