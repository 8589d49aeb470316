"""Fan-out correctness: every member gets every other sender's messages once, in order."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.frames import Frame, Opcode

from dispatch_tui.server.relay import Relay, RelaySettings
from tests.conftest import client, recv_event, request

MEMBERS = 50
SENDERS = 5
PER_SENDER = 40
BURST = 40


async def test_fifty_members_five_senders_exactly_once_in_order(relay: Relay) -> None:
    async with asyncio.timeout(120):
        connections: list[ClientConnection] = []
        contexts = [client(relay.url) for _ in range(MEMBERS)]
        for context in contexts:
            connections.append(await context.__aenter__())
        try:
            for ws in connections:
                await request(ws, "join_room", {"room_name": "ops"})
                await recv_event(ws, "room_joined")
            client_ids = [await _client_id(ws) for ws in connections]
            senders = connections[:SENDERS]

            async def send_all(index: int, ws: ClientConnection) -> None:
                for n in range(PER_SENDER):
                    message = {"sender": index, "n": n}
                    await request(ws, "send_to_room", {"room_name": "ops", "message": message})

            async def collect(ws: ClientConnection, own: int | None) -> dict[int, list[int]]:
                expected = PER_SENDER * (SENDERS - (1 if own is not None else 0))
                received: dict[int, list[int]] = defaultdict(list)
                count = 0
                while count < expected:
                    event = json.loads(await ws.recv())
                    if event["event"] != "client_message":
                        continue
                    message = event["data"]["message"]
                    received[message["sender"]].append(message["n"])
                    count += 1
                return received

            collectors = [
                asyncio.create_task(collect(ws, i if i < SENDERS else None))
                for i, ws in enumerate(connections)
            ]
            await asyncio.gather(*(send_all(i, ws) for i, ws in enumerate(senders)))
            results = await asyncio.gather(*collectors)
            for i, received in enumerate(results):
                others = [s for s in range(SENDERS) if s != i]
                assert sorted(received) == others, f"member {i} ({client_ids[i]})"
                for sender in others:
                    assert received[sender] == list(range(PER_SENDER))
        finally:
            for context in contexts:
                await context.__aexit__(None, None, None)


def _room_of(n: int) -> str:
    """Burst message ``n`` goes to "fire" for 10 of the 40, to "ops" before and after."""
    return "fire" if 10 <= n < 20 else "ops"


def _count_writes(relay: Relay, members: int) -> list[int]:
    """Count the relay's writes to each of its last ``members`` clients (asyncio's transport)."""
    writes = [0] * members
    for index, session in enumerate(list(relay.hub.sessions.values())[-members:]):
        transport = session.transport.transport
        write = transport.write

        def counted(data: bytes, write=write, index=index) -> None:  # type: ignore[no-untyped-def]
            writes[index] += 1
            write(data)

        transport.write = counted
    return writes


def _send_in_one_write(publisher: ClientConnection, messages: list[tuple[str, Any]]) -> None:
    """``send_to_room`` frames for (room, message) pairs, in one write to the socket."""
    frames = [
        json.dumps(
            {"event": "send_to_room", "data": {"room_name": room, "message": message}}
        ).encode()
        for room, message in messages
    ]
    publisher.transport.write(
        b"".join(Frame(Opcode.TEXT, frame).serialize(mask=True, extensions=[]) for frame in frames)
    )


async def test_a_burst_reaches_each_member_in_order_in_a_few_writes(relay: Relay) -> None:
    """Frames read in one go are written to each member together, not one system call each.

    The first member is in both rooms: it must still get the messages of both in the
    order they were sent, the others only those of "ops".
    """
    async with asyncio.timeout(30), contextlib.AsyncExitStack() as stack:
        publisher = await stack.enter_async_context(client(relay.url))
        members = [await stack.enter_async_context(client(relay.url)) for _ in range(3)]
        for ws in members:
            await request(ws, "join_room", {"room_name": "ops"})
            await recv_event(ws, "room_joined")
        await request(members[0], "join_room", {"room_name": "fire"})
        await recv_event(members[0], "room_joined")
        writes = _count_writes(relay, len(members))
        _send_in_one_write(publisher, [(_room_of(n), {"n": n}) for n in range(BURST)])
        for index, ws in enumerate(members):
            expected = [n for n in range(BURST) if index == 0 or _room_of(n) == "ops"]
            received: list[int] = []
            while len(received) < len(expected):
                received.append((await recv_event(ws, "client_message"))["data"]["message"]["n"])
            assert received == expected
            assert writes[index] <= BURST // 4, writes
        acks = [(await recv_event(publisher, "sent"))["data"]["seq"] for _ in range(BURST)]
        assert acks == sorted(acks) and len(set(acks)) == BURST


async def test_members_with_and_without_compression_each_get_a_burst_once_in_order(
    tmp_path: Path,
) -> None:
    """With compression on, a room mixes both kinds: those without an extension share one
    set of frame bytes, the others get frames of their own, and each gets all, in order."""
    relay = Relay(RelaySettings(port=0, db=str(tmp_path / "journal.sqlite3"), compression=True))
    await relay.start()
    try:
        async with asyncio.timeout(30), contextlib.AsyncExitStack() as stack:
            publisher = await stack.enter_async_context(client(relay.url))
            members = [
                await stack.enter_async_context(client(relay.url, compression=compression))
                for compression in ("deflate", None, "deflate", None)
            ]
            assert [bool(ws.protocol.extensions) for ws in members] == [True, False, True, False]
            for ws in members:
                await request(ws, "join_room", {"room_name": "ops"})
                await recv_event(ws, "room_joined")
            _send_in_one_write(
                publisher, [("ops", {"n": n, "pad": "x" * 200}) for n in range(BURST)]
            )
            for n in range(BURST, 2 * BURST):
                await request(publisher, "send_to_room", {"room_name": "ops", "message": {"n": n}})
            for ws in members:
                received = [
                    (await recv_event(ws, "client_message"))["data"]["message"]["n"]
                    for _ in range(2 * BURST)
                ]
                assert received == list(range(2 * BURST))
                with contextlib.suppress(TimeoutError):
                    extra = await recv_event(ws, "client_message", timeout=0.3)
                    raise AssertionError(f"delivered twice: {extra}")
            acks = [(await recv_event(publisher, "sent"))["data"]["seq"] for _ in range(2 * BURST)]
            assert acks == sorted(set(acks)), acks
    finally:
        await relay.stop()


async def _client_id(ws: ClientConnection) -> str:
    await request(ws, "identify", {"name": "member"})
    reply = await recv_event(ws, "identified")
    return str(reply["data"]["client_id"])
