"""A client that stops reading is cut off with 1013 without hurting the others."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import psutil
import pytest
from websockets.exceptions import ConnectionClosed

from tests.conftest import RelayProcess, client, recv_event, request

MESSAGES = 1000
MESSAGE_BYTES = 40_000  # 1000 x 40 kB = 40 MB into the room
RESUME_AFTER = 625  # 25 MB: well past what socket buffers and the relay's cap hold
WINDOW = 16  # a sender that keeps a few messages in flight, as a busy console does


async def test_stalled_reader_is_closed_1013_and_memory_stays_bounded(
    tmp_path: Path, relay_process: type[RelayProcess]
) -> None:
    relay = relay_process("--db", str(tmp_path / "journal.sqlite3")).start()
    process = psutil.Process(relay.pid)
    async with (
        client(relay.url, max_queue=1) as stalled,
        client(relay.url, max_size=None) as member,
        client(relay.url) as sender,
    ):
        for ws in (stalled, member):
            await request(ws, "join_room", {"room_name": "ops"})
            await recv_event(ws, "room_joined")
        rss_before = process.memory_info().rss
        peak = rss_before

        halfway = asyncio.Event()

        async def receive_everything() -> list[int]:
            seen: list[int] = []
            while len(seen) < MESSAGES:
                event = json.loads(await member.recv())
                if event["event"] == "client_message":
                    seen.append(event["data"]["message"]["n"])
                    if len(seen) == RESUME_AFTER:
                        halfway.set()
            return seen

        async def read_again_later() -> None:
            """After 25 MB the stalled client reads again, long after it was cut off."""
            await halfway.wait()
            while True:
                await stalled.recv()

        async def watch_memory() -> None:
            nonlocal peak
            while True:
                peak = max(peak, process.memory_info().rss)
                await asyncio.sleep(0.05)

        receiving = asyncio.create_task(receive_everything())
        stalled_reading = asyncio.create_task(read_again_later())
        watching = asyncio.create_task(watch_memory())
        body = "x" * MESSAGE_BYTES
        in_flight = 0
        acks = 0
        async with asyncio.timeout(120):
            for n in range(MESSAGES):
                message = {"n": n, "body": body}
                await request(sender, "send_to_room", {"room_name": "ops", "message": message})
                in_flight += 1
                while in_flight >= WINDOW:
                    if json.loads(await sender.recv())["event"] == "sent":
                        in_flight -= 1
                        acks += 1
            while acks < MESSAGES:
                if json.loads(await sender.recv())["event"] == "sent":
                    acks += 1
            received = await receiving
        watching.cancel()

        assert received == list(range(MESSAGES))
        assert peak - rss_before < 100 * 1024 * 1024, f"relay grew {(peak - rss_before) >> 20} MB"

        # Reading again, the stalled client found, after what was already on
        # its way, the close frame saying why it was dropped.
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(stalled_reading, 60)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1013
        assert closed.value.rcvd.reason == "slow consumer"
