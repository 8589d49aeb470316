"""Time from the final fragment of an utterance to the ``ai_suggestion`` at a client.

    python benchmarks/suggestion_latency.py [--calls 200] [--idle-gap 0.3]

A relay with the rules agent runs in this process; a publisher sends one final
fragment per call (``publish_transcript``) and a console client waits for that
call's suggestion. The agent runs after the idle gap, so the figure that
matters is the latency beyond the gap: p50 and p99 are printed beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from dispatch_tui.client import DispatchClient
from dispatch_tui.server.agents.rules import RulesAgent
from dispatch_tui.server.pipeline import PipelineSettings
from dispatch_tui.server.relay import Relay, RelaySettings

UTTERANCES = (
    "my husband collapsed at 418 elm street and he's not breathing",
    "there's smoke pouring out of the apartment at 77 harbor road",
    "a car hit a pole on highway 9 near mile marker 112, the driver is bleeding",
    "my mother's face is drooping and her speech is slurred, 22 willow lane",
)


async def measure(calls: int, idle_gap: float) -> list[float]:
    with tempfile.TemporaryDirectory() as folder:
        relay = Relay(
            RelaySettings(port=0, db=str(Path(folder) / "j.sqlite3")),
            agent=RulesAgent(),
            pipeline=PipelineSettings(idle_gap=idle_gap),
        )
        await relay.start()
        beyond_gap: list[float] = []
        try:
            async with DispatchClient(relay.url) as publisher, DispatchClient(relay.url) as desk:
                for n in range(calls):
                    call_id = f"bench-{n}"
                    data = {
                        "call_id": call_id,
                        "text": UTTERANCES[n % len(UTTERANCES)],
                        "is_final": True,
                        "speaker": "caller",
                    }
                    started = time.perf_counter()
                    await publisher.request("publish_transcript", data)
                    async for event in desk.events():
                        if (
                            event["event"] == "ai_suggestion"
                            and event["data"]["call_id"] == call_id
                        ):
                            break
                    beyond_gap.append(time.perf_counter() - started - idle_gap)
        finally:
            await relay.stop()
        return beyond_gap


async def loop_lag(samples: int = 200, interval: float = 0.01) -> list[float]:
    """How late a plain ``asyncio.sleep`` wakes up: the machine's own jitter, as reference."""
    lags = []
    for _ in range(samples):
        started = time.perf_counter()
        await asyncio.sleep(interval)
        lags.append(time.perf_counter() - started - interval)
    return sorted(lags)


def percentile(samples: list[float], share: float) -> float:
    return samples[min(len(samples) - 1, int(len(samples) * share))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--idle-gap", type=float, default=0.3)
    args = parser.parse_args()
    reference = asyncio.run(loop_lag())
    samples = sorted(asyncio.run(measure(args.calls, args.idle_gap)))
    p50 = statistics.median(samples)
    p99 = percentile(samples, 0.99)
    lag99 = percentile(reference, 0.99)
    print(f"calls {len(samples)}  idle gap {args.idle_gap * 1000:.0f} ms")
    print(f"beyond the idle gap: p50 {p50 * 1000:.1f} ms  p99 {p99 * 1000:.1f} ms")
    print(f"reference, asyncio.sleep lateness on this machine: p99 {lag99 * 1000:.1f} ms")
    print(f"target: p99 < 50 ms; p99 / reference p99 = {p99 / max(lag99, 1e-6):.1f}")


if __name__ == "__main__":
    main()
