"""Several ``dispatch serve`` processes on one real ``redis-server``, through faults.

Relays are killed with SIGKILL and Redis is stopped and started again (with
AOF and without persistence); every acknowledged message must still be in
every relay's ``history``, and no ``seq`` may be handed out twice.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from tests.conftest import RelayProcess, client, recv_event, request
from tests.redis_server import RedisServer

ROOM = "ops"


@pytest.fixture
def redis_servers(tmp_path: Path) -> Iterator[Callable[..., RedisServer]]:
    started: list[RedisServer] = []

    def make(persistence: bool = False) -> RedisServer:
        directory = tmp_path / f"redis-{len(started)}"
        directory.mkdir()
        server = RedisServer(directory, persistence).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.kill()


def relays(
    relay_process: type[RelayProcess], tmp_path: Path, redis_url: str, count: int
) -> list[RelayProcess]:
    return [
        relay_process(
            "--db", str(tmp_path / f"relay-{n}.sqlite3"), "--redis", redis_url,
            log=tmp_path / f"relay-{n}.log",
        ).start()
        for n in range(count)
    ]  # fmt: skip


def health(relay: RelayProcess) -> tuple[int, dict[str, Any]]:
    url = relay.url.replace("ws://", "http://") + "/healthz"
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


async def wait_for_health(relay: RelayProcess, status: int, timeout: float = 30) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            code, body = await asyncio.to_thread(health, relay)
            if code == status:
                return body
            await asyncio.sleep(0.2)


_ids = itertools.count(1)


async def ask(ws: ClientConnection, event: str, data: Any = None) -> dict[str, Any]:
    """Send one request and return the reply that carries its id."""
    request_id = next(_ids)
    await request(ws, event, data, id=request_id)
    async with asyncio.timeout(30):
        while True:
            message = json.loads(await ws.recv())
            if message.get("id") == request_id:
                assert isinstance(message, dict)
                return message


async def member(stack: AsyncExitStack, url: str, name: str) -> ClientConnection:
    ws = await stack.enter_async_context(client(url))
    assert (await ask(ws, "identify", {"name": name}))["event"] == "identified"
    assert (await ask(ws, "join_room", {"room_name": ROOM}))["event"] == "room_joined"
    return ws


async def history_seqs(url: str, room: str | None = ROOM) -> dict[int, Any]:
    """Every stored message of a stream on one relay: seq to message."""
    found: dict[int, Any] = {}
    since = 0
    async with client(url) as ws:
        while True:
            data: dict[str, Any] = {"since": since, "limit": 1000}
            if room is not None:
                data["room_name"] = room
            page = (await ask(ws, "history", data))["data"]
            for message in page["messages"]:
                found[message["data"]["seq"]] = message["data"]["message"]
                since = max(since, message["data"]["seq"])
            if not page["has_more"]:
                return found


async def wait_for_history(url: str, expected: dict[int, Any], timeout: float = 30) -> None:
    """Until the relay's history holds every expected (seq, message), each exactly as sent."""
    stored: dict[int, Any] = {}
    try:
        async with asyncio.timeout(timeout):
            while True:
                stored = await history_seqs(url)
                if all(stored.get(seq) == message for seq, message in expected.items()):
                    return
                await asyncio.sleep(0.3)
    except TimeoutError:
        missing = sorted(seq for seq in expected if stored.get(seq) != expected[seq])
        raise AssertionError(f"{url} history lacks seqs {missing[:20]}") from None


async def collect(ws: ClientConnection, into: list[dict[str, Any]]) -> None:
    """Append every client_message a connection receives until it closes."""
    try:
        async for frame in ws:
            message = json.loads(frame)
            if message.get("event") == "client_message":
                into.append(message["data"])
    except ConnectionClosed:
        pass


async def test_three_relays_act_as_one_room_with_one_seq_and_shared_presence(
    relay_process: type[RelayProcess],
    redis_servers: Callable[..., RedisServer],
    tmp_path: Path,
) -> None:
    redis_server = redis_servers()
    first, second, third = relays(relay_process, tmp_path, redis_server.url, 3)
    async with AsyncExitStack() as stack:
        alpha = await member(stack, first.url, "Alpha")
        bravo = await member(stack, second.url, "Bravo")
        charlie = await member(stack, third.url, "Charlie")

        for relay in (first, second, third):
            async with client(relay.url) as probe:
                rooms = (await ask(probe, "list_rooms"))["data"]["rooms"]
                assert rooms.get(ROOM) == 3, (relay.url, rooms)
        # The probes are gone; the other relays' presence says so within a moment.
        async with asyncio.timeout(10):
            while True:
                listed = (await ask(alpha, "list_clients"))["data"]["clients"]
                if len(listed) == 3:
                    break
                await asyncio.sleep(0.2)
        assert sorted(str(c["name"]) for c in listed) == ["Alpha", "Bravo", "Charlie"]
        assert all(c["room"] == ROOM and ":" in c["address"] for c in listed)
        in_room = (await ask(bravo, "list_clients", {"room_name": ROOM}))["data"]["clients"]
        assert len(in_room) == 3

        sent = await ask(alpha, "send_to_room", {"room_name": ROOM, "message": "units roll"})
        assert sent["event"] == "sent" and sent["data"]["recipients"] == 2
        for listener in (bravo, charlie):
            got = (await recv_event(listener, "client_message"))["data"]
            assert got["message"] == "units roll"
            assert got["seq"] == sent["data"]["seq"]
            assert got["from"].count(":") == 1

        third.kill()
        async with asyncio.timeout(25):
            while True:
                rooms = (await ask(alpha, "list_rooms"))["data"]["rooms"]
                if rooms.get(ROOM) == 2:
                    break
                await asyncio.sleep(0.5)
        names = [c["name"] for c in (await ask(bravo, "list_clients"))["data"]["clients"]]
        assert sorted(names) == ["Alpha", "Bravo"]
        sent = await ask(alpha, "send_to_room", {"room_name": ROOM, "message": "two left"})
        assert sent["data"]["recipients"] == 1


async def dispatch(*args: str) -> asyncio.subprocess.Process:
    """A ``dispatch`` client command, with pipes for its stdin and stdout."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dispatch_tui", *args,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip


async def json_lines(process: asyncio.subprocess.Process, into: list[dict[str, Any]]) -> None:
    assert process.stdout is not None
    async for line in process.stdout:
        into.append(json.loads(line))


async def test_a_killed_relay_loses_nothing_and_catches_up_from_the_log(
    relay_process: type[RelayProcess],
    redis_servers: Callable[..., RedisServer],
    tmp_path: Path,
) -> None:
    """``dispatch send`` and ``dispatch listen --reconnect`` ride out a relay's kill -9."""
    redis_server = redis_servers(persistence=True)
    doomed, survivor = relays(relay_process, tmp_path, redis_server.url, 2)
    urls = ["--url", doomed.url, "--url", survivor.url]
    listener = await dispatch("listen", "--reconnect", "--room", ROOM, *urls)
    heard: list[dict[str, Any]] = []
    listening = asyncio.create_task(json_lines(listener, heard))
    async with asyncio.timeout(30):
        while True:
            async with client(doomed.url) as probe:
                if (await ask(probe, "list_rooms"))["data"]["rooms"].get(ROOM):
                    break
            await asyncio.sleep(0.1)

    publisher = await dispatch("send", "--room", ROOM, "--json", "-", *urls)
    acks: list[dict[str, Any]] = []
    acknowledging = asyncio.create_task(json_lines(publisher, acks))
    assert publisher.stdin is not None
    total = 100
    for number in range(total):
        publisher.stdin.write(f"{number}\n".encode())
        await publisher.stdin.drain()
        if number == 40:
            async with asyncio.timeout(30):
                while len(acks) < 30:
                    await asyncio.sleep(0.05)
            doomed.kill()
        await asyncio.sleep(0.02)
    publisher.stdin.close()
    assert await asyncio.wait_for(publisher.wait(), 60) == 0
    await acknowledging
    assert len(acks) == total, "every line was acknowledged, on one relay or the other"
    acked = {ack["data"]["seq"]: number for number, ack in enumerate(acks)}

    async with asyncio.timeout(30):
        while not set(acked) <= {m["data"]["seq"] for m in heard if "seq" in m.get("data", {})}:
            await asyncio.sleep(0.1)
    listener.terminate()
    await listener.wait()
    await listening
    messages = [m["data"] for m in heard if m["event"] == "client_message"]
    seqs = [m["seq"] for m in messages]
    assert len(seqs) == len(set(seqs)), "the listener got no message twice"
    by_seq = {m["seq"]: m["message"] for m in messages}
    for seq, number in acked.items():
        assert by_seq.get(seq) == number, f"acknowledged message {number} (seq {seq}) missing"

    doomed.start()
    await wait_for_history(doomed.url, acked)
    await wait_for_history(survivor.url, acked)


@pytest.mark.parametrize("persistence", [True, False], ids=["aof", "no-persistence"])
async def test_redis_restart_keeps_every_acknowledged_message_and_seq_moves_on(
    relay_process: type[RelayProcess],
    redis_servers: Callable[..., RedisServer],
    tmp_path: Path,
    persistence: bool,
) -> None:
    redis_server = redis_servers(persistence=persistence)
    first, second = relays(relay_process, tmp_path, redis_server.url, 2)
    acked: dict[int, Any] = {}
    order: list[int] = []
    async with AsyncExitStack() as stack:
        alpha = await member(stack, first.url, "Alpha")
        bravo = await member(stack, second.url, "Bravo")

        async def send(ws: ClientConnection, message: Any) -> dict[str, Any]:
            reply = await ask(ws, "send_to_room", {"room_name": ROOM, "message": message})
            if reply["event"] == "sent":
                assert reply["data"]["seq"] not in acked, "a seq was handed out twice"
                acked[reply["data"]["seq"]] = message
                order.append(reply["data"]["seq"])
            return reply

        for number in range(10):
            assert (await send(alpha, f"before {number}"))["event"] == "sent"
            assert (await recv_event(bravo, "client_message"))["data"]["message"] == (
                f"before {number}"
            )

        redis_server.stop()
        body = await wait_for_health(first, 503)
        assert body["status"] == "degraded" and "Redis" in body["reason"]
        status = await recv_event(alpha, "status")
        assert status["data"]["redis"] == "unavailable"

        during = await send(alpha, "during the outage")
        assert during["event"] in {"sent", "error"}
        if during["event"] == "error":
            assert during["data"]["code"] == "unavailable"
        rooms = await ask(alpha, "list_rooms")
        assert rooms["event"] == "rooms_list", "the connection stays open and answers"

        redis_server.start()
        await wait_for_health(first, 200)
        await wait_for_health(second, 200)

        async with asyncio.timeout(20):
            while True:
                reply = await send(alpha, "after")
                if reply["event"] == "sent":
                    break
                await asyncio.sleep(0.2)
        got = await recv_event(bravo, "client_message", timeout=20)
        while got["data"]["message"] != "after":
            got = await recv_event(bravo, "client_message", timeout=20)
        assert (await send(bravo, "and back"))["event"] == "sent"
        got = await recv_event(alpha, "client_message", timeout=20)
        assert got["data"]["message"] == "and back"

    assert order == sorted(order), "seq never goes backwards"
    for relay in (first, second):
        await wait_for_history(relay.url, acked)


@pytest.fixture
def lone_relay(
    relay_process: type[RelayProcess],
    redis_servers: Callable[..., RedisServer],
    tmp_path: Path,
) -> tuple[RedisServer, RelayProcess]:
    """One relay on its own Redis (without persistence), for outage tests."""
    redis_server = redis_servers()
    (only,) = relays(relay_process, tmp_path, redis_server.url, 1)
    return redis_server, only


async def test_relays_keep_their_clients_while_redis_is_away(
    lone_relay: tuple[RedisServer, RelayProcess],
) -> None:
    """Every request is answered during an outage; the lists say they are partial."""
    redis_server, only = lone_relay
    async with client(only.url) as ws:
        await ask(ws, "join_room", {"room_name": ROOM})
        redis_server.kill()
        await wait_for_health(only, 503)
        transcript = {"call_id": "c1", "text": "he is not breathing", "is_final": True}
        refused: list[tuple[str, dict[str, Any]]] = [
            ("send_to_room", {"room_name": ROOM, "message": 1}),
            ("send_to_all", {"message": 2}),
            ("publish_transcript", transcript),
        ]
        for event, data in refused:
            reply = await ask(ws, event, data)
            assert reply["event"] == "error" and reply["data"]["code"] == "unavailable"
            assert reply["data"]["event"] == event
        rooms = await ask(ws, "list_rooms")
        assert rooms["data"] == {"rooms": {ROOM: 1}, "partial": True}
        clients = await ask(ws, "list_clients")
        assert clients["data"]["partial"] is True
        assert (await ask(ws, "history", {"room_name": ROOM}))["event"] == "history"
        redis_server.start()
        await wait_for_health(only, 200)
        reply = await ask(ws, "send_to_room", {"room_name": ROOM, "message": 3})
        assert reply["event"] == "sent"


async def test_a_relay_stops_promptly_while_redis_is_away_with_sends_queued(
    lone_relay: tuple[RedisServer, RelayProcess],
) -> None:
    """SIGTERM is not held up by sends that wait for Redis: they are refused at once."""
    redis_server, only = lone_relay
    async with client(only.url) as ws:
        redis_server.kill()
        await wait_for_health(only, 503)
        for number in range(30):
            await request(ws, "send_to_room", {"room_name": ROOM, "message": number}, id=number)
        only.signal(signal.SIGTERM)
        assert await asyncio.to_thread(only.wait, 20) == 0
