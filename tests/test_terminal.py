"""`dispatch tui` and `dispatch demo` in a real terminal (tmux), as a dispatcher runs them."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RelayProcess, client, recv_event, request

TERMINAL_TIMEOUT = 90.0


class Terminal:
    """One tmux session on a private tmux server, running one command."""

    def __init__(self, socket: str, command: list[str], width: int = 160, height: int = 48) -> None:
        if shutil.which("tmux") is None:
            raise AssertionError("tmux is not installed: `apt-get install tmux` (.ci/run does)")
        self.socket = socket
        self.env = {**os.environ, "TERM": "xterm-256color", "PYTHONUNBUFFERED": "1"}
        self.tmux(
            "new-session", "-d", "-s", "console", "-x", str(width), "-y", str(height),
            shlex.join(command) + "; echo exit=$?; sleep 60",
        )  # fmt: skip

    def tmux(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.socket, *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=30,
        )
        return result.stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "console")

    def wait_for(self, *texts: str, timeout: float = TERMINAL_TIMEOUT) -> str:
        """Poll the screen until every text is on it; fail with the screen after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if all(text in screen for text in texts):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{texts} not on the screen:\n{screen}")
            time.sleep(0.2)

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "console", *keys)

    def close(self) -> None:
        self.tmux("kill-server")


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[type[Terminal]]:
    opened: list[Terminal] = []
    socket = f"dispatch-tests-{os.getpid()}-{tmp_path.name}"

    class Tracked(Terminal):
        def __init__(self, command: list[str]) -> None:
            super().__init__(socket, command)
            opened.append(self)

    yield Tracked
    for each in opened:
        each.close()


def dispatch(*args: str) -> list[str]:
    return [sys.executable, "-m", "dispatch_tui", *args]


def test_demo_opens_the_console_with_live_calls_and_quits(terminal: type[Terminal]) -> None:
    demo = terminal(dispatch("demo", "--speed", "6"))
    screen = demo.wait_for("ROOMS", "CALLS", "ADVICE", "[dispatch_center] >", "connected")
    assert "Traceback" not in screen
    demo.wait_for("demo-", "where", "caller")
    demo.keys("C-q")
    demo.wait_for("exit=0")


async def test_tui_sends_typed_chat_and_shows_hostile_text_literally(
    terminal: type[Terminal], relay_process: type[RelayProcess], tmp_path: Path
) -> None:
    relay = relay_process("--db", str(tmp_path / "journal.sqlite3")).start()
    console = terminal(
        dispatch("tui", "--url", relay.url, "--name", "Disp 3", "--room", "field_ops")
    )
    console.wait_for("[field_ops] >", "connected")
    async with client(relay.url) as unit:
        await request(unit, "join_room", {"room_name": "field_ops"})
        await recv_event(unit, "room_joined")
        console.keys("-l", "copy that, en route")
        console.keys("Enter")
        message = await recv_event(unit, "client_message", timeout=TERMINAL_TIMEOUT)
        assert message["data"]["message"] == "copy that, en route"
        assert message["data"]["name"] == "Disp 3"

        await request(
            unit, "send_to_room", {"room_name": "field_ops", "message": "[bold red]X[/] \x1b[2J ok"}
        )
        await recv_event(unit, "sent")
        screen = console.wait_for("[bold red]X[/]")
        assert "ROOMS" in screen, "the escape sequence must not clear the screen"
    console.keys("C-q")
    console.wait_for("exit=0")


def test_tui_without_a_relay_exits_3_with_one_line() -> None:
    result = subprocess.run(
        dispatch("tui", "--url", "ws://127.0.0.1:9"),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 3
    assert result.stderr.startswith("dispatch: cannot connect to ws://127.0.0.1:9")
    assert result.stderr.count("\n") == 1
    assert "\x1b" not in result.stdout + result.stderr


async def test_tui_shows_the_units_board_and_an_alert_banner(
    terminal: type[Terminal], relay_process: type[RelayProcess], tmp_path: Path
) -> None:
    relay = relay_process("--db", str(tmp_path / "journal.sqlite3")).start()
    console = terminal(
        dispatch("tui", "--url", relay.url, "--name", "Disp 3", "--unit-stale-after", "2")
    )
    console.wait_for("[dispatch_center] >", "connected")
    async with client(relay.url) as unit:
        update = {
            "type": "status_update",
            "unit": "Unit 23",
            "status": "en_route",
            "location": "Main St & 1st Ave",
        }
        await request(unit, "send_to_room", {"room_name": "dispatch_center", "message": update})
        await recv_event(unit, "sent")
        console.keys("F2")
        console.wait_for("UNITS", "Unit 23", "en_route", "Main St & 1st Ave")
        console.wait_for("STALE")

        alert = {"type": "emergency_alert", "priority": "high", "message": "Bridge closed [now]"}
        await request(unit, "send_to_all", {"message": alert})
        await recv_event(unit, "sent")
        console.wait_for("EMERGENCY ALERT (HIGH)", "Bridge closed [now]", "Unit 23")
        console.keys("F9")
        deadline = time.monotonic() + TERMINAL_TIMEOUT
        while "EMERGENCY ALERT" in console.screen():
            assert time.monotonic() < deadline, "the banner stayed after F9"
            time.sleep(0.2)
    console.keys("C-q")
    console.wait_for("exit=0")
