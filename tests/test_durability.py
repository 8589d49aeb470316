"""A relay process: acknowledged messages survive kill -9; SIGTERM stops gracefully."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from tests.conftest import RelayProcess, client, recv_event, recv_json, request


async def test_acknowledged_message_survives_kill_9(
    tmp_path: Path, relay_process: type[RelayProcess]
) -> None:
    db = str(tmp_path / "journal.sqlite3")
    first = relay_process("--db", db).start()
    assert first.startup_line == f"dispatch relay listening on {first.url}"
    async with client(first.url) as ws:
        for n in range(20):
            await request(ws, "send_to_room", {"room_name": "ops", "message": f"m{n}"}, id=n)
        acked = [await recv_event(ws, "sent") for _ in range(20)]
        await request(ws, "send_to_all", {"message": "to everyone"})
        acked.append(await recv_event(ws, "sent"))
        first.signal(signal.SIGKILL)
        first.wait()
    second = relay_process("--db", db).start()
    async with client(second.url) as ws:
        await request(ws, "history", {"room_name": "ops"})
        history = await recv_event(ws, "history")
        messages = history["data"]["messages"]
        assert [m["data"]["message"] for m in messages] == [f"m{n}" for n in range(20)]
        assert [m["data"]["seq"] for m in messages] == [a["data"]["seq"] for a in acked[:20]]
        await request(ws, "history")
        global_stream = (await recv_event(ws, "history"))["data"]["messages"]
        assert [m["data"]["message"] for m in global_stream] == ["to everyone"]
        # seq keeps growing after the restart: it is never reused.
        await request(ws, "send_to_room", {"room_name": "ops", "message": "after"})
        sent = await recv_event(ws, "sent")
        assert sent["data"]["seq"] > acked[-1]["data"]["seq"]


async def test_sigterm_closes_clients_1001_flushes_and_exits_0(
    tmp_path: Path, relay_process: type[RelayProcess]
) -> None:
    db = str(tmp_path / "journal.sqlite3")
    relay = relay_process("--db", db).start()
    async with client(relay.url) as ws:
        await request(ws, "send_to_room", {"room_name": "ops", "message": "keep me"})
        await recv_event(ws, "sent")
        relay.signal(signal.SIGTERM)
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await recv_json(ws, timeout=30)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1001
    assert await asyncio.to_thread(relay.wait) == 0
    again = relay_process("--db", db).start()
    async with client(again.url) as ws:
        await request(ws, "history", {"room_name": "ops"})
        messages = (await recv_event(ws, "history"))["data"]["messages"]
        assert [m["data"]["message"] for m in messages] == ["keep me"]
