"""Several relays sharing rooms' traffic and ``seq`` through a real redis-server."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dispatch_tui.server.relay import Relay, RelaySettings
from tests.conftest import client, recv_event, request
from tests.redis_server import free_port


@pytest.fixture
async def relays(tmp_path: Path, redis_url: str) -> AsyncIterator[list[Relay]]:
    started = []
    for number in range(2):
        db = str(tmp_path / f"journal-{number}.sqlite3")
        relay = Relay(RelaySettings(port=0, db=db, redis_url=redis_url))
        await relay.start()
        started.append(relay)
    try:
        yield started
    finally:
        for relay in started:
            await relay.stop()


async def test_rooms_and_broadcasts_span_relays_with_one_seq(relays: list[Relay]) -> None:
    first, second = relays
    async with (
        client(first.url) as sender,
        client(second.url) as member,
        client(second.url) as outsider,
    ):
        await request(member, "join_room", {"room_name": "ops"})
        await recv_event(member, "room_joined")
        seqs = []
        for number in range(5):
            await request(sender, "send_to_room", {"room_name": "ops", "message": number})
            seqs.append((await recv_event(sender, "sent"))["data"]["seq"])
        got = [await recv_event(member, "client_message") for _ in range(5)]
        assert [m["data"]["message"] for m in got] == list(range(5))
        assert [m["data"]["seq"] for m in got] == seqs
        await request(member, "send_to_room", {"room_name": "ops", "message": "from second"})
        reply_seq = (await recv_event(member, "sent"))["data"]["seq"]
        assert reply_seq > max(seqs), "seq keeps growing across relays"
        await request(sender, "send_to_all", {"message": "all units"})
        await recv_event(sender, "sent")
        broadcast = await recv_event(outsider, "client_message")
        assert broadcast["data"]["message"] == "all units"

        async with asyncio.timeout(10):
            while True:
                await request(outsider, "history", {"room_name": "ops"})
                stored = (await recv_event(outsider, "history"))["data"]["messages"]
                if len(stored) == 6:
                    break
        assert [m["data"]["seq"] for m in stored] == [*seqs, reply_seq]


def test_serve_without_a_reachable_redis_exits_3() -> None:
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "dispatch_tui", "serve", "--port", "0", "--db", ":memory:",
         "--redis", f"redis://127.0.0.1:{free_port()}/0"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 3
    assert "cannot use Redis" in result.stderr
    assert "Traceback" not in result.stderr
