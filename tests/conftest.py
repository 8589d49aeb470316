"""Shared fixtures: a real relay on port 0, real clients, real relay processes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from dispatch_tui.server.relay import Relay, RelaySettings
from tests.redis_server import RedisServer

TIMEOUT = 10.0


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A real ``redis-server`` of the test's own, stopped after it."""
    server = RedisServer(tmp_path).start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
async def relay(tmp_path: Path) -> AsyncIterator[Relay]:
    """An in-process relay on a free port with a journal in a temporary file."""
    server = Relay(RelaySettings(port=0, db=str(tmp_path / "journal.sqlite3")))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def recv_json(ws: ClientConnection, timeout: float = TIMEOUT) -> dict[str, Any]:
    message = json.loads(await asyncio.wait_for(ws.recv(), timeout))
    assert isinstance(message, dict)
    return message


async def recv_event(ws: ClientConnection, event: str, timeout: float = TIMEOUT) -> dict[str, Any]:
    """The next message of kind ``event``, skipping others (e.g. status)."""
    async with asyncio.timeout(timeout):
        while True:
            message = await recv_json(ws, timeout)
            if message.get("event") == event:
                return message


async def request(ws: ClientConnection, event: str, data: Any = None, **extra: Any) -> None:
    message: dict[str, Any] = {"event": event, **extra}
    if data is not None:
        message["data"] = data
    await ws.send(json.dumps(message))


@asynccontextmanager
async def client(url: str, **options: Any) -> AsyncIterator[ClientConnection]:
    """A raw websockets client that has read its welcome and status."""
    async with connect(url, **options) as ws:
        welcome = await recv_json(ws)
        assert welcome["event"] == "welcome"
        status = await recv_json(ws)
        assert status["event"] == "status"
        yield ws


def local_address(ws: ClientConnection) -> str:
    host, port = ws.local_address[:2]
    return f"{host}:{port}"


class RelayProcess:
    """``dispatch serve`` in a child process, as an operator runs it."""

    def __init__(self, *args: str, log: Path | None = None) -> None:
        self.args = args
        #: Where stderr goes; a file keeps a chatty relay from filling a pipe nobody reads.
        self.log = log
        self.process: subprocess.Popen[str] | None = None
        self.url = ""
        self.startup_line = ""
        self.port = 0

    def start(self) -> RelayProcess:
        """Start on a free port the first time, and on the same port again after that."""
        stderr: Any = subprocess.PIPE if self.log is None else self.log.open("a")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "dispatch_tui", "serve", "--port", str(self.port), *self.args],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        if self.log is not None:
            stderr.close()
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            detail = self.log.read_text() if self.log else self.process.stderr.read()  # type: ignore[union-attr]
            raise AssertionError(f"relay did not start: {detail}")
        self.startup_line = line.rstrip("\n")
        self.url = self.startup_line.rsplit(" ", 1)[-1]
        self.port = int(self.url.rsplit(":", 1)[-1])
        return self

    def kill(self) -> None:
        """``kill -9``: no goodbye to clients, no journal flush."""
        self.signal(signal.SIGKILL)
        self.wait()
        self._close_pipes()

    def _close_pipes(self) -> None:
        assert self.process is not None
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def wait(self, timeout: float = 30) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(30)
        if self.process is not None:
            self._close_pipes()


@pytest.fixture
def relay_process(tmp_path: Path) -> Iterator[type[RelayProcess]]:
    started: list[RelayProcess] = []

    class Tracked(RelayProcess):
        def start(self) -> RelayProcess:
            started.append(self)
            return super().start()

    yield Tracked
    for process in started:
        process.stop()
