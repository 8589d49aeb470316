"""The reconnecting client against a real relay that goes away and comes back."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

import pytest

from dispatch_tui.client import (
    Backoff,
    ConnectionFailed,
    DispatchClient,
    LinkState,
    ServerRefused,
)
from dispatch_tui.server.relay import Relay, RelaySettings

FAST = Backoff(initial=0.05, factor=2.0, maximum=0.5)


async def next_event(client: DispatchClient, event: str, timeout: float = 10) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        async for message in client.events():
            if message.get("event") == event:
                return message
    raise AssertionError(f"stream ended before {event}")


async def test_request_reply_by_id_and_events(relay: Relay) -> None:
    async with (
        DispatchClient(relay.url, name="Dispatcher 3") as a,
        DispatchClient(relay.url, name="Unit 23") as b,
    ):
        assert a.welcome is not None and a.welcome.address
        await b.join("ops")
        replies = await asyncio.gather(*(a.send_to_room("ops", n) for n in range(5)))
        assert [r.event_name for r in replies] == ["sent"] * 5
        assert len({r.seq for r in replies}) == 5
        received = [await next_event(b, "client_message") for _ in range(5)]
        assert [m["data"]["message"] for m in received] == list(range(5))
        assert received[0]["data"]["name"] == "Dispatcher 3"
        with pytest.raises(ServerRefused) as refused:
            await a.request("leave_room", {"room_name": "never"})
        assert refused.value.code == "not_found"


async def test_connect_failure_raises_connection_failed() -> None:
    with pytest.raises(ConnectionFailed):
        await DispatchClient("ws://127.0.0.1:9").connect()


def test_backoff_is_jittered_exponential_and_capped() -> None:
    backoff = Backoff(initial=1.0, factor=2.0, maximum=8.0)
    delays = list(itertools.islice(backoff.delays(), 6))
    for attempt, delay in enumerate(delays):
        ceiling = min(8.0, 2.0**attempt)
        assert ceiling / 2 <= delay <= ceiling
    assert len({list(itertools.islice(backoff.delays(), 4))[3] for _ in range(20)}) > 1


async def test_reconnects_and_resumes_what_was_sent_while_away(tmp_path: Path) -> None:
    db = str(tmp_path / "journal.sqlite3")
    relay = Relay(RelaySettings(port=0, db=db))
    await relay.start()
    port = relay.port
    states: list[LinkState] = []
    watcher = DispatchClient(relay.url, name="watcher", reconnect=True, backoff=FAST)
    watcher.on_state = states.append
    await watcher.connect()
    try:
        await watcher.join("ops")
        async with DispatchClient(relay.url) as sender:
            await sender.send_to_room("ops", "before")
            await sender.send_to_all("before-all")
        assert (await next_event(watcher, "client_message"))["data"]["message"] == "before"
        assert (await next_event(watcher, "client_message"))["data"]["message"] == "before-all"

        await relay.stop()
        async with asyncio.timeout(10):
            while watcher.state is not LinkState.RECONNECTING:
                await asyncio.sleep(0.01)

        # While the watcher is away, messages reach the journal through a relay
        # on the same database; the watcher must see them once it is back.
        relay = Relay(RelaySettings(port=port, db=db))
        await relay.start()
        async with DispatchClient(relay.url) as sender:
            for n in range(3):
                await sender.send_to_room("ops", f"while away {n}")
            await sender.send_to_all("all while away")

        got = [await next_event(watcher, "client_message") for _ in range(4)]
        messages = sorted(str(m["data"]["message"]) for m in got)
        assert messages == sorted(
            ["while away 0", "while away 1", "while away 2", "all while away"]
        )
        async with asyncio.timeout(10):
            while watcher.state is not LinkState.RECOVERED:
                await asyncio.sleep(0.01)
        assert LinkState.RECONNECTING in states
        # Membership and name were restored on the new connection.
        async with DispatchClient(relay.url) as sender:
            await sender.send_to_room("ops", "live again")
        live = await next_event(watcher, "client_message")
        assert live["data"]["message"] == "live again"
        clients = await watcher.request("list_clients", {"room_name": "ops"})
        assert [c["name"] for c in clients["data"]["clients"]] == ["watcher"]
    finally:
        await watcher.close()
        await relay.stop()


def test_expect_reads_a_reply_as_its_event_or_says_what_came_instead() -> None:
    from dispatch_tui import events as ev
    from dispatch_tui.client import UnreadableReply, expect

    reply = {"event": "rooms_list", "data": {"rooms": {"ops": 2}}, "id": "r1"}
    assert expect(reply, ev.RoomsList).rooms == {"ops": 2}
    with pytest.raises(UnreadableReply, match="'sent' where rooms_list was due"):
        expect({"event": "sent", "data": {"recipients": 1, "seq": 2}}, ev.RoomsList)
    with pytest.raises(UnreadableReply):
        expect({"event": "rooms_list", "data": {"rooms": "not counts"}}, ev.RoomsList)
