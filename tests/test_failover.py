"""Clients given several relay URLs: the first that answers, and the next when one goes away.

The relays here are independent (each on its own journal), so their ``seq``
numbers are independent too, unlike in a cluster sharing them through Redis.
Where a client moves from one to another, the second is given some traffic
first, so its numbers are above everything the client saw on the first and
the client's de-duplication by ``seq`` does not take new messages for old ones.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from dispatch_tui.app import ConsoleSettings, DispatchApp
from dispatch_tui.client import Backoff, ConnectionFailed, DispatchClient, LinkState
from dispatch_tui.server.relay import Relay, RelaySettings
from dispatch_tui.widgets.status import StatusBar
from tests.conftest import RelayProcess
from tests.console_helpers import rendered, running, until
from tests.test_client import next_event

#: So long that a test waiting on it would time out: failover must not wait.
NEVER = Backoff(initial=60.0, factor=1.0, maximum=60.0)
TIMEOUT = 20.0


def dead_url() -> str:
    """A URL on which nothing listens: a port that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"ws://127.0.0.1:{port}"


async def wait_for(condition: Any, what: str, timeout: float = TIMEOUT) -> None:
    """Poll ``condition()`` until it holds; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def get_ahead(url: str, messages: int = 5) -> None:
    """Raise a fresh relay's ``seq`` above what a client saw elsewhere (module docstring)."""
    async with DispatchClient(url) as warmer:
        for number in range(messages):
            await warmer.send_to_room("elsewhere", number)


async def say(url: str, room: str, message: str) -> None:
    async with DispatchClient(url, name="sender") as sender:
        await sender.send_to_room(room, message)


async def members(url: str, room: str) -> list[str]:
    async with DispatchClient(url) as observer:
        reply = await observer.request("list_clients", {"room_name": room})
    return [str(entry.get("name")) for entry in reply["data"]["clients"]]


async def wait_for_async(probe: Any, expected: Any, what: str, timeout: float = TIMEOUT) -> None:
    """Await ``probe()`` until it returns ``expected``; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while await probe() != expected:
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


class Relays:
    """In-process relays, each on its own journal, that a test stops and starts again."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.running: list[Relay] = []

    async def start(self, name: str, port: int = 0) -> Relay:
        relay = Relay(RelaySettings(port=port, db=str(self.tmp_path / f"{name}.sqlite3")))
        await relay.start()
        self.running.append(relay)
        return relay

    async def stop(self, relay: Relay) -> None:
        self.running.remove(relay)
        await relay.stop()


@pytest.fixture
async def relays(tmp_path: Path) -> AsyncIterator[Relays]:
    started = Relays(tmp_path)
    try:
        yield started
    finally:
        for relay in list(started.running):
            await started.stop(relay)


def dispatch_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "dispatch_tui", *args]


async def test_connects_to_the_first_url_that_answers(relay: Relay) -> None:
    dead = dead_url()
    async with DispatchClient([dead, relay.url], name="desk") as desk:
        assert desk.url == relay.url
        assert desk.state is LinkState.CONNECTED
        reply = await desk.request("list_clients")
        assert [c["name"] for c in reply["data"]["clients"]] == ["desk"]


async def test_connect_fails_once_every_url_was_tried() -> None:
    first, second = dead_url(), dead_url()
    with pytest.raises(ConnectionFailed) as failed:
        await DispatchClient([first, second]).connect()
    assert first in str(failed.value)
    assert second in str(failed.value)


async def test_reconnecting_client_moves_to_the_next_relay_at_once(relays: Relays) -> None:
    a, b = await relays.start("a"), await relays.start("b")
    await get_ahead(b.url)
    watcher = DispatchClient([a.url, b.url], name="watcher", reconnect=True, backoff=NEVER)
    await watcher.connect()
    try:
        await watcher.join("ops")
        await say(a.url, "ops", "on a")
        assert (await next_event(watcher, "client_message"))["data"]["message"] == "on a"

        await relays.stop(a)
        # Sent whether or not the watcher is back yet: live, or replayed from history.
        await say(b.url, "ops", "on b")
        assert (await next_event(watcher, "client_message"))["data"]["message"] == "on b"
        await wait_for(lambda: watcher.state is LinkState.RECOVERED, "recovery on b")
        assert watcher.url == b.url
        assert await members(b.url, "ops") == ["watcher"]

        await say(b.url, "ops", "live on b")
        # The next message is the live one: "on b" was not shown a second time.
        assert (await next_event(watcher, "client_message"))["data"]["message"] == "live on b"
    finally:
        await watcher.close()


async def test_reconnecting_client_goes_round_to_the_first_relay_again(relays: Relays) -> None:
    a, b = await relays.start("a"), await relays.start("b")
    watcher = DispatchClient([a.url, b.url], name="watcher", reconnect=True, backoff=NEVER)
    await watcher.connect()
    try:
        await watcher.join("ops")
        port = a.port
        await relays.stop(a)
        await wait_for(lambda: watcher.state is LinkState.RECOVERED, "recovery on b")
        assert watcher.url == b.url

        a = await relays.start("a", port=port)
        await relays.stop(b)
        await wait_for(
            lambda: watcher.url == a.url and watcher.state is LinkState.RECOVERED,
            "recovery on a again",
        )
        assert await members(a.url, "ops") == ["watcher"]
    finally:
        await watcher.close()


async def test_console_status_bar_names_the_relay_it_moved_to(relays: Relays) -> None:
    a, b = await relays.start("a"), await relays.start("b")
    client = DispatchClient([a.url, b.url], name="Dispatcher 3", reconnect=True, backoff=NEVER)
    app = DispatchApp(client, ConsoleSettings(redraw_interval=0.05, poll_interval=0.5))
    async with running(app) as pilot:
        status = app.screen.query_one(StatusBar)
        assert a.url in rendered(status)
        await relays.stop(a)
        await until(pilot, lambda: b.url in rendered(status), "the status bar to name b")
        await until(pilot, lambda: app.link is LinkState.RECOVERED, "recovery on b")


async def read_message(stream: asyncio.StreamReader, expected: str) -> None:
    """Read ``dispatch listen`` lines until a client_message carrying ``expected``."""
    async with asyncio.timeout(TIMEOUT):
        while True:
            line = await stream.readline()
            if not line:
                raise AssertionError(f"listen stopped before {expected!r}")
            event = json.loads(line)
            data = event.get("data") or {}
            if event.get("event") == "client_message" and data.get("message") == expected:
                return


async def test_listen_reconnect_keeps_printing_after_its_relay_is_killed(
    relay_process: type[RelayProcess], tmp_path: Path
) -> None:
    a = relay_process("--db", str(tmp_path / "a.sqlite3")).start()
    b = relay_process("--db", str(tmp_path / "b.sqlite3")).start()
    await get_ahead(b.url)
    listen = await asyncio.create_subprocess_exec(
        *dispatch_command(
            "listen", "--reconnect", "--url", a.url, "--url", b.url, "--room", "ops",
            "--name", "listener",
        ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert listen.stdout is not None
    try:
        await wait_for_async(lambda: members(a.url, "ops"), ["listener"], "listen to join on a")
        await say(a.url, "ops", "on a")
        await read_message(listen.stdout, "on a")

        a.stop()
        await say(b.url, "ops", "on b")
        await read_message(listen.stdout, "on b")
        await wait_for_async(lambda: members(b.url, "ops"), ["listener"], "listen to rejoin on b")
        await say(b.url, "ops", "live on b")
        await read_message(listen.stdout, "live on b")
        assert listen.returncode is None
    finally:
        listen.terminate()
        await listen.wait()


def test_dispatch_url_with_commas_names_several_relays(
    relay_process: type[RelayProcess], tmp_path: Path
) -> None:
    live = relay_process("--db", str(tmp_path / "journal.sqlite3")).start()
    result = subprocess.run(
        dispatch_command("rooms", "--json"),
        env={**os.environ, "DISPATCH_URL": f"{dead_url()},{live.url}"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["event"] == "rooms_list"


def test_send_with_a_dead_first_url_is_sent_on_the_second(
    relay_process: type[RelayProcess], tmp_path: Path
) -> None:
    live = relay_process("--db", str(tmp_path / "journal.sqlite3")).start()
    sent = subprocess.run(
        dispatch_command("send", "--url", f"{dead_url()},{live.url}", "--room", "ops", "hello"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert sent.returncode == 0, sent.stderr
    assert "sent #" in sent.stdout
    stored = subprocess.run(
        dispatch_command("history", "--url", live.url, "--room", "ops", "--json"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert [json.loads(line)["data"]["message"] for line in stored.stdout.splitlines()] == ["hello"]


def test_every_url_dead_exits_3_with_one_line() -> None:
    result = subprocess.run(
        dispatch_command("rooms", "--url", dead_url(), "--url", dead_url()),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 3
    assert result.stderr.startswith("dispatch: ")
    assert len(result.stderr.splitlines()) == 1


async def test_send_from_stdin_resends_the_unacked_line_on_the_next_relay(
    relay_process: type[RelayProcess], tmp_path: Path
) -> None:
    a = relay_process("--db", str(tmp_path / "a.sqlite3"), "--rate-limit", "0").start()
    b = relay_process("--db", str(tmp_path / "b.sqlite3"), "--rate-limit", "0").start()
    lines = [f"line {number}" for number in range(800)]
    sender = await asyncio.create_subprocess_exec(
        *dispatch_command("send", "--url", a.url, "--url", b.url, "--room", "ops", "--json", "-"),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with DispatchClient(a.url) as watcher:
        await watcher.join("ops")
        stdin = "".join(json.dumps(line) + "\n" for line in lines).encode()
        sending = asyncio.create_task(sender.communicate(stdin))
        for _ in range(20):
            await next_event(watcher, "client_message", timeout=TIMEOUT)
        a.stop()
    out, err = await asyncio.wait_for(sending, 60)
    assert sender.returncode == 0, err.decode()
    replies = [json.loads(line) for line in out.decode().splitlines()]
    assert len(replies) == len(lines)
    assert {reply["event"] for reply in replies} == {"sent"}
    assert b"moving to the next relay" in err

    async with DispatchClient(b.url) as reader:
        stored = await reader.history("ops", limit=1000)
    on_b = [message["data"]["message"] for message in stored.messages]
    # What a acknowledged stays there; b has the rest, beginning with the line
    # whose acknowledgement a never sent.
    assert 0 < len(on_b) < len(lines)
    assert on_b == lines[len(lines) - len(on_b) :]
