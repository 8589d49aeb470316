"""A real ``redis-server`` process that tests start, stop, kill and start again."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """One ``redis-server`` on a free loopback port, its files in ``directory``.

    ``persistence`` turns on AOF with an fsync per write (what docs/cluster.md
    tells operators to use); without it Redis forgets everything when it stops.
    """

    def __init__(self, directory: Path, persistence: bool = False) -> None:
        if shutil.which("redis-server") is None:
            raise AssertionError(
                "redis-server is not installed: `apt-get install redis-server` (.ci/run does)"
            )
        self.directory = directory
        self.persistence = persistence
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisServer:
        aof = ["yes", "--appendfsync", "always"] if self.persistence else ["no"]
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", str(self.directory), "--save", "", "--appendonly", *aof],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        probe = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 20
        while True:
            try:
                probe.ping()
                break
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("redis-server did not start") from None
                time.sleep(0.05)
            except redis.BusyLoadingError:
                time.sleep(0.05)
        probe.close()
        return self

    def stop(self) -> None:
        """A clean shutdown (SIGTERM): with AOF everything written is kept."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(30)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)
