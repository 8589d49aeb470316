"""The relay's outbox on stand-in connections: how queued frames are joined and capped."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest

from dispatch_tui.server.hub import Session
from dispatch_tui.server.relay import WRITE_RUN_MAX_BYTES, WebSocketOutbox


@dataclass
class FakeProtocol:
    close_sent: Any = None
    extensions: list[Any] = field(default_factory=list)
    writes: list[bytes] = field(default_factory=list)
    expect_continuation_frame: bool = False


class FakeTransport:
    """Keeps what is written; its unsent bytes are what the test says."""

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.unsent = 0

    def is_closing(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return self.unsent

    def write(self, data: bytes) -> None:
        self.written.append(data)


class FakeConnection:
    def __init__(self) -> None:
        self.protocol = FakeProtocol()
        self.transport = FakeTransport()
        self.close_timeout = 10.0
        self.closes: list[tuple[int, str]] = []

    async def close(self, code: int, reason: str) -> None:
        self.closes.append((code, reason))


def session(name: str) -> Session:
    return Session(name, f"127.0.0.1:{len(name)}", transport=FakeConnection())


async def test_a_run_of_frames_is_cut_at_the_write_cap_and_each_write_checks_the_buffer() -> None:
    outbox = WebSocketOutbox(max_client_buffer=1 << 20)
    member = session("member")
    frames = [b"x" * 8000 for _ in range(24)]
    for frame in frames:
        outbox.send([member], frame)
    outbox.flush()
    written = member.transport.transport.written
    assert len(written) == -(-sum(map(len, frames)) // WRITE_RUN_MAX_BYTES)
    assert all(len(chunk) <= WRITE_RUN_MAX_BYTES + 64 for chunk in written)
    assert b"".join(written).count(b"x" * 8000) == len(frames)


async def test_a_slow_consumer_is_closed_once_and_gets_nothing_more() -> None:
    outbox = WebSocketOutbox(max_client_buffer=1000)
    slow, fine = session("slow"), session("fine")
    slow.transport.transport.unsent = 5000
    for n in range(3):
        outbox.send([slow, fine], b"frame %d" % n)
        outbox.send([fine], b"reply %d" % n)  # a different run for each frame
    outbox.flush()
    await _settle()
    assert slow.transport.transport.written == []
    assert slow.transport.closes == [(1013, "slow consumer")]
    assert len(fine.transport.transport.written) == 6


async def _settle() -> None:
    """Let the close tasks run."""
    for _ in range(3):
        await asyncio.sleep(0)


@pytest.mark.parametrize("count", [1, 2])
async def test_closing_a_connection_writes_what_was_queued_for_it_first(count: int) -> None:
    outbox = WebSocketOutbox(max_client_buffer=1 << 20)
    member = session("member")
    for n in range(count):
        outbox.send([member], b"error %d" % n)
    outbox.close(member, 1008, "bye")
    assert b"".join(member.transport.transport.written).count(b"error") == count
    await _settle()
    assert member.transport.closes == [(1008, "bye")]
