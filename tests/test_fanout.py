"""Fan-out correctness: every member gets every other sender's messages once, in order."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict

from websockets.asyncio.client import ClientConnection

from dispatch_tui.server.relay import Relay
from tests.conftest import client, recv_event, request

MEMBERS = 50
SENDERS = 5
PER_SENDER = 40


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


async def _client_id(ws: ClientConnection) -> str:
    await request(ws, "identify", {"name": "member"})
    reply = await recv_event(ws, "identified")
    return str(reply["data"]["client_id"])
