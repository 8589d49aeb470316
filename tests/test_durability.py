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


async def _healthz(port: int) -> tuple[bytes, dict[str, object]]:
    import json

    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
    await writer.drain()
    response = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, body = response.split(b"\r\n\r\n", 1)
    return head, json.loads(body)


async def test_a_journal_that_fails_a_commit_degrades_the_relay_and_answers_every_send(
    tmp_path: Path,
) -> None:
    """The disk refuses a commit: the sender hears so, everyone sees it, nothing more is taken."""
    import sqlite3

    from dispatch_tui.server.relay import Relay, RelaySettings

    db = tmp_path / "journal.sqlite3"
    relay = Relay(RelaySettings(port=0, db=str(db)))
    await relay.start()
    try:
        async with client(relay.url) as sender, client(relay.url) as member:
            for ws in (sender, member):
                await request(ws, "join_room", {"room_name": "ops"})
                await recv_event(ws, "room_joined")
            await request(sender, "send_to_room", {"room_name": "ops", "message": "ok"}, id=1)
            assert (await recv_event(sender, "sent"))["id"] == 1
            # Another writer makes every further insert fail, as a full or broken disk would.
            with sqlite3.connect(db) as other:
                other.execute(
                    "CREATE TRIGGER refuse BEFORE INSERT ON messages "
                    "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
                )
            await request(sender, "send_to_room", {"room_name": "ops", "message": "lost"}, id=2)
            refusal = await recv_event(sender, "error")
            assert refusal["id"] == 2 and refusal["data"]["code"] == "unavailable"
            assert "disk full" in refusal["data"]["message"]
            for ws in (sender, member):
                status = (await recv_event(ws, "status"))["data"]
                assert status["journal"] == "failed" and "disk full" in status["journal_detail"]
            head, health = await _healthz(relay.port)
            assert head.startswith(b"HTTP/1.1 503")
            assert health["status"] == "degraded" and "disk full" in str(health["reason"])
            # Later sends are refused before anyone receives them.
            await request(sender, "send_to_room", {"room_name": "ops", "message": "later"}, id=3)
            later = await recv_event(sender, "error")
            assert later["id"] == 3 and later["data"]["code"] == "unavailable"
            await request(member, "list_rooms", id="probe")
            reply = await recv_json(member)
            while reply.get("id") != "probe":
                assert reply["data"].get("message") != "later"
                reply = await recv_json(member)
    finally:
        await relay.stop()
