"""The relay's outbox on stand-in connections: how queued frames are joined and capped."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from dispatch_tui.server.hub import Session
from dispatch_tui.server.relay import (
    WRITE_HOLD_MIN_DELIVERIES,
    WRITE_RUN_MAX_BYTES,
    WebSocketOutbox,
)


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
    big = b"x" * (WRITE_RUN_MAX_BYTES // 2)  # the slow one's frames take three writes
    for n in range(3):
        outbox.send([slow, fine], b"frame %d " % n + big)
        outbox.send([fine], b"reply %d" % n)
    outbox.flush()
    await _settle()
    assert slow.transport.transport.written == []
    assert slow.transport.closes == [(1013, "slow consumer")]
    received = b"".join(fine.transport.transport.written)
    order = [
        received.index(b"%s %d" % (kind, n)) for n in range(3) for kind in (b"frame", b"reply")
    ]
    assert order == sorted(order), "the fine client got its frames out of order"


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


def room(size: int = WRITE_HOLD_MIN_DELIVERIES) -> list[Session]:
    """Enough members that a broadcast to them waits for the write interval."""
    return [session(f"member{n}") for n in range(size)]


async def test_broadcasts_queued_soon_after_a_write_wait_and_go_out_together() -> None:
    """A quiet outbox writes at the end of the turn; what follows within the interval waits."""
    outbox = WebSocketOutbox(max_client_buffer=1 << 20, write_interval=0.2)
    members = room()
    written = members[0].transport.transport.written
    loop = asyncio.get_running_loop()
    outbox.send(members, b"first")
    await asyncio.sleep(0)
    assert written == [b"\x81\x05first"]
    first_at = loop.time()
    outbox.send(members, b"second")
    outbox.send(members, b"third")
    await asyncio.sleep(0.05)
    assert len(written) == 1, "a frame right after a write did not wait for the interval"
    await _until(lambda: len(written) == 2)
    assert loop.time() - first_at >= 0.39, "the lull's timer is twice the interval"
    assert written[1] == b"\x81\x06second\x81\x05third"


async def test_replies_never_wait_for_the_interval() -> None:
    """A client's chain of requests: each reply goes at the end of its turn."""
    outbox = WebSocketOutbox(max_client_buffer=1 << 20, write_interval=0.05)
    members, client = room(), session("client")
    outbox.send(members, b"broadcast")
    await asyncio.sleep(0)
    for n in range(3):
        outbox.send([client], b"reply %d" % n)
        await asyncio.sleep(0)
        assert len(client.transport.transport.written) == n + 1
    await asyncio.sleep(0.1)
    outbox.send([client], b"reply 3")
    await asyncio.sleep(0)
    outbox.send(members, b"goes")  # the interval runs from the last broadcast, not reply 3
    await asyncio.sleep(0)
    assert len(members[0].transport.transport.written) == 2


async def test_the_first_frame_after_the_interval_takes_the_waiting_ones_along() -> None:
    outbox = WebSocketOutbox(max_client_buffer=1 << 20, write_interval=0.2)
    members = room()
    written = members[0].transport.transport.written
    outbox.send(members, b"first")
    await asyncio.sleep(0)
    outbox.send(members, b"waits")
    await asyncio.sleep(0.25)  # past the interval, before the lull's timer (0.4 s)
    assert len(written) == 1
    outbox.send(members, b"comes")
    await asyncio.sleep(0)
    assert written[1:] == [b"\x81\x05waits\x81\x05comes"]


async def test_without_an_interval_every_turn_writes() -> None:
    outbox = WebSocketOutbox(max_client_buffer=1 << 20, write_interval=0)
    members = room()
    for frame in (b"one", b"two"):
        outbox.send(members, frame)
        await asyncio.sleep(0)
    assert members[0].transport.transport.written == [b"\x81\x03one", b"\x81\x03two"]


async def test_interleaved_replies_and_room_frames_reach_each_client_in_one_ordered_write() -> None:
    """A publisher's acks between its room messages: one write per client all the same."""
    outbox = WebSocketOutbox(max_client_buffer=1 << 20)
    publisher, listeners = session("publisher"), [session(f"listener{n}") for n in range(3)]
    for n in range(4):
        outbox.send(listeners, b"room %d" % n)
        outbox.send([publisher], b"sent %d" % n)
    outbox.send([publisher, *listeners], b"everyone")
    outbox.flush()
    assert publisher.transport.transport.written == [
        b"".join(b"\x81\x06sent %d" % n for n in range(4)) + b"\x81\x08everyone"
    ]
    for listener in listeners:
        assert listener.transport.transport.written == [
            b"".join(b"\x81\x06room %d" % n for n in range(4)) + b"\x81\x08everyone"
        ]


class SlowTransport(FakeTransport):
    def write(self, data: bytes) -> None:
        time.sleep(0.02)
        super().write(data)


async def test_after_a_long_write_the_next_one_waits_longer_than_the_interval() -> None:
    """A write to many clients takes a while: writing must not take all of the relay's time."""
    outbox = WebSocketOutbox(max_client_buffer=1 << 20, write_interval=0.001)
    members = room()
    member = members[0]
    member.transport.transport = SlowTransport()
    outbox.send(members, b"slow")
    await asyncio.sleep(0)
    assert len(member.transport.transport.written) == 1
    outbox.send(members, b"next")  # 20 ms after the write began: 20 times the interval
    await asyncio.sleep(0)
    assert len(member.transport.transport.written) == 1, "the next write came at once"
    await _until(lambda: len(member.transport.transport.written) == 2)


async def _until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


class FillingTransport(FakeTransport):
    """A client that reads nothing: every write stays unsent."""

    def write(self, data: bytes) -> None:
        super().write(data)
        self.unsent += len(data)


async def test_the_cap_is_checked_before_each_write_of_a_long_run() -> None:
    outbox = WebSocketOutbox(max_client_buffer=WRITE_RUN_MAX_BYTES + 4000)
    member = session("member")
    member.transport.transport = FillingTransport()
    for _ in range(24):
        outbox.send([member], b"x" * 8000)
    outbox.flush()
    await _settle()
    assert len(member.transport.transport.written) == 2, "wrote on past the cap"
    assert member.transport.closes == [(1013, "slow consumer")]
