"""A reconnect storm: 300 reconnecting clients ride out a relay restart and miss nothing.

The relay is stopped and a new one started on the same port and journal; messages are
sent into every room before the clients are back, so most of them must recover what they
missed through ``history``, each message exactly once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import json
import resource
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from dispatch_tui import events as ev
from dispatch_tui.client import Backoff, DispatchClient, LinkState
from dispatch_tui.server.relay import Relay, RelaySettings
from tests.conftest import client, recv_event, request

CLIENTS = 300
ROOMS = [f"room-{n}" for n in range(10)]
BACKOFF = Backoff(initial=0.2, factor=2.0, maximum=2.0)
BEFORE_PER_ROOM = 2
AFTER_PER_ROOM = 3
BROADCASTS = 2
DEADLINE = 120.0
SETTLED = {LinkState.RECOVERED, LinkState.CONNECTED}


class Watcher:
    """One reconnecting client and every streamed message it handed to the application."""

    def __init__(self, url: str, room: str) -> None:
        self.room = room
        self.client = DispatchClient(url, reconnect=True, backoff=BACKOFF)
        self.seen: dict[str | None, list[int]] = {None: [], room: []}
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.client.connect()
        await self.client.join(self.room)
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for event in self.client.events():
            position = ev.stream_position(event)
            if event.get("event") == "client_message" and position is not None:
                stream, seq = position
                self.seen.setdefault(stream, []).append(seq)

    def has(self, expected: dict[str | None, list[int]]) -> bool:
        return self.seen[None] == expected[None] and self.seen[self.room] == expected[self.room]

    async def close(self) -> None:
        await self.client.close()
        if self._reader is not None:
            await asyncio.wait_for(self._reader, 30)


def allow_open_files(needed: int) -> None:
    """Two sockets per client (both ends are in this process) plus the usual files."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        ceiling = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (ceiling, hard))
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        pytest.skip(f"needs {needed} open files, the limit is {soft}")


@asynccontextmanager
async def watchers(url: str) -> AsyncIterator[list[Watcher]]:
    """Connects every watcher (a few dozen at a time) and closes them all at the end."""
    started: list[Watcher] = []
    gate = asyncio.Semaphore(50)

    async def start(index: int) -> None:
        watcher = Watcher(url, ROOMS[index % len(ROOMS)])
        async with gate:
            await watcher.start()
        started.append(watcher)

    try:
        await asyncio.gather(*(start(n) for n in range(CLIENTS)))
        yield started
    finally:
        await asyncio.gather(*(w.close() for w in started), return_exceptions=True)


async def send_batch(url: str, per_room: int, broadcasts: int, tag: str) -> list[dict[str, Any]]:
    """Sends without waiting between messages, then collects every ``sent`` ack."""
    async with client(url) as sender:
        count = 0
        for n in range(per_room):
            for room in ROOMS:
                payload = {"room_name": room, "message": f"{tag} {room} {n}"}
                await request(sender, "send_to_room", payload, id=count)
                count += 1
        for n in range(broadcasts):
            await request(sender, "send_to_all", {"message": f"{tag} all {n}"}, id=count)
            count += 1
        return [await recv_event(sender, "sent", timeout=30) for _ in range(count)]


async def restart_on(settings: RelaySettings, port: int) -> Relay:
    """A new relay on ``port`` and the same journal.

    While the port is free, a reconnecting client's own ephemeral port can happen to be
    ``port`` (a TCP self-connect); binding is retried until that socket is gone.
    """
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        relay = Relay(dataclasses.replace(settings, port=port))
        try:
            await relay.start()
            return relay
        except OSError as exc:
            await relay.stop()
            if exc.errno != errno.EADDRINUSE or asyncio.get_running_loop().time() > deadline:
                raise
        await asyncio.sleep(0.2)


async def healthz(port: int) -> dict[str, Any]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        await writer.drain()
        response = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    head, body = response.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200"), head
    status: dict[str, Any] = json.loads(body)
    return status


def record(expected: dict[str | None, list[int]], acks: list[dict[str, Any]]) -> None:
    for ack in acks:
        data = ack["data"]
        stream = None if data.get("broadcast") else data["room"]
        expected.setdefault(stream, []).append(data["seq"])
    for seqs in expected.values():
        seqs.sort()


async def wait_until_all_have(
    group: list[Watcher], expected: dict[str | None, list[int]], settled: bool
) -> None:
    """Polls until every watcher saw exactly ``expected`` (and is back, if ``settled``)."""
    try:
        async with asyncio.timeout(DEADLINE):
            while not all(
                w.has(expected) and (not settled or w.client.state in SETTLED) for w in group
            ):
                await asyncio.sleep(0.1)
    except TimeoutError:
        behind = [w for w in group if not w.has(expected) or w.client.state not in SETTLED]
        sample = [(w.room, w.client.state, w.seen) for w in behind[:3]]
        raise AssertionError(f"{len(behind)} clients not caught up: {sample}") from None


@pytest.mark.timeout(300)
async def test_300_clients_ride_out_a_restart_and_miss_nothing(tmp_path: Path) -> None:
    """Messages sent while the storm reconnects reach every client exactly once."""
    allow_open_files(4 * CLIENTS + 256)
    settings = RelaySettings(port=0, db=str(tmp_path / "journal.sqlite3"))
    relay = Relay(settings)
    await relay.start()
    url = relay.url
    expected: dict[str | None, list[int]] = {None: [], **{room: [] for room in ROOMS}}
    try:
        async with watchers(url) as group:
            record(expected, await send_batch(url, BEFORE_PER_ROOM, BROADCASTS, "before"))
            await wait_until_all_have(group, expected, settled=False)

            await relay.stop()
            relay = await restart_on(settings, relay.port)
            acks = await send_batch(url, AFTER_PER_ROOM, BROADCASTS, "after")
            not_back = sum(w.client.state is not LinkState.RECOVERED for w in group)
            record(expected, acks)
            assert sum(len(seqs) for seqs in expected.values()) == (
                len(ROOMS) * (BEFORE_PER_ROOM + AFTER_PER_ROOM) + 2 * BROADCASTS
            )
            # Most clients are still away when the messages are stored: history must serve them.
            assert not_back > 0

            await wait_until_all_have(group, expected, settled=True)
            assert all(w.client.state is LinkState.RECOVERED for w in group)

            async with client(url) as observer:
                await request(observer, "list_clients", id="who")
                clients = (await recv_event(observer, "clients_list"))["data"]["clients"]
                await request(observer, "list_rooms", id="rooms")
                rooms = (await recv_event(observer, "rooms_list"))["data"]["rooms"]
            assert len(clients) == CLIENTS + 1  # and the observer
            assert rooms == {room: CLIENTS // len(ROOMS) for room in ROOMS}
            # Once the observer's goodbye is processed, /healthz counts exactly the storm.
            async with asyncio.timeout(30):
                while (await healthz(relay.port))["clients"] != CLIENTS:
                    await asyncio.sleep(0.05)
    finally:
        await relay.stop()
