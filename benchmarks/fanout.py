"""Fan-out benchmark: the dispatch relay against a bare websockets relay.

    python benchmarks/fanout.py [--subscribers N] [--rates R1,R2,...] [--size S]
                                [--duration D] [--drain D] [--workers W]

The rates default to steps of about 1.4x from 25 to 200 messages/s for 1000
subscribers, scaled to the same deliveries/s for other N (250 to 2000 for 100),
so that capacity is found within one step. A relay that has failed at two rates
in a row (reach or p99 below the bar) is not run at the higher ones: its
capacity is known, and an overloaded trial is the slowest kind.

For every rate, and for each relay in turn (dispatch with its journal on a
temporary SQLite file, and ``reference_relay.py``; the order alternates from one
rate to the next so that a machine getting busier does not favour either), a
fresh relay subprocess gets N subscribers in one room and one publisher that
sends R messages/s of S bytes for D seconds. Each message carries its send time
(``time.time_ns()``, one clock for every process on the machine), so
subscribers measure latency. Before any message, the relay's RSS with no client
and with N joined idle clients gives its memory per connection.

Figures: delivered/s is deliveries over the time from the first send to the
last delivery; reach is deliveries over sent x N; latency is from send to the
subscriber's read, in 0.1 ms buckets (``inf``: 10 s or more); relay CPU is user
+ system time of the relay's process (all threads, keepalive pings to N clients
included) as a share of one core, and per delivery; dropped counts subscribers
the relay closed or lost.

Subscribers are spread over worker processes, and they are not websockets
clients: on a small machine every cycle a client spends is taken from the relay
under test, and even websockets' sans-I/O parser costs a few times more per
frame than a parser that only finds one field. So a subscriber is a plain asyncio
protocol: websockets' sans-I/O client does the handshake, then a small parser
reads the server's (unmasked, unfragmented) frames, answers pings, and only
looks for the send time in each frame.

Everything is bounded (message counts, timeouts), uses 127.0.0.1 only, and
every subprocess is stopped however a trial ends.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import multiprocessing
import platform
import re
import resource
import select
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import Any

import psutil
from websockets.asyncio.client import connect
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.uri import parse_uri
from websockets.version import version as websockets_version

HOST = "127.0.0.1"
ROOM = "bench"
RELAYS = ("dispatch", "reference")
#: The relays run from the checkout this file is in, whatever is installed.
CHECKOUT = Path(__file__).resolve().parents[1]
#: Key of the send time inside each message; found in frames without parsing JSON.
MARKER = b'"sent_ns":'
ROOM_JOINED = b'"room_joined"'
#: Latency histogram: 0.1 ms buckets, everything from 10 s up in the last one.
BUCKET_NS = 100_000
LAST_BUCKET = 100_000
#: Handshakes in flight per worker: the relays listen with a backlog of 100 and drop a
#: handshake after 10 s, which a busy machine reaches with too many at once.
CONNECTS_PER_WORKER = 16
STARTUP_TIMEOUT = 60.0
CONNECT_TIMEOUT = 180.0
SETTLE_SECONDS = 1.0
RSS_SAMPLE_SECONDS = 0.5
#: A trial is clean when the relay delivered this share with p99 under the bound.
CLEAN_REACH = 0.999
CLEAN_P99_MS = 100.0
#: Default publisher rates for 1000 subscribers; other N get the same deliveries/s.
DEFAULT_RATES_AT_1000 = (25, 35, 50, 70, 100, 140, 200)
#: A relay that failed at this many rates in a row is not run at higher ones.
FAILURES_BEFORE_SKIPPING = 2

_TEXT = Opcode.TEXT.value
_PING = Opcode.PING.value
_CLOSE = Opcode.CLOSE.value


def raise_nofile_limit(needed: int) -> None:
    """Every subscriber, and every relay-side client, holds one file descriptor."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            raise RuntimeError(f"need {needed} open files, the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


# --- subscriber worker processes -------------------------------------------------


class Tally:
    """What one worker's subscribers have seen; shared so the hot path stays cheap."""

    def __init__(self, subscribers: int, total: int, done: asyncio.Future[None]) -> None:
        self.total = total
        self.pending = subscribers
        self.received = 0
        self.dropped = 0
        self.last_ns = 0
        self.histogram = [0] * (LAST_BUCKET + 1)
        self.done = done

    def finish_one(self) -> None:
        """One subscriber got every message, or lost its connection."""
        self.pending -= 1
        if self.pending == 0 and not self.done.done():
            self.done.set_result(None)


class Subscriber(asyncio.Protocol):
    """One room member: joins, then counts messages and their latency."""

    def __init__(self, url: str, tally: Tally, joined: asyncio.Future[None]) -> None:
        self.handshake: ClientProtocol | None = ClientProtocol(parse_uri(url))
        self.tally = tally
        self.joined = joined
        self.buffer = bytearray()
        self.received = 0
        self.finished = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        assert self.handshake is not None
        self.handshake.send_request(self.handshake.connect())
        transport.write(b"".join(self.handshake.data_to_send()))

    def data_received(self, data: bytes) -> None:
        now = time.time_ns()
        buf = self.buffer
        buf += data
        if self.handshake is not None and not self._finish_handshake():
            return
        tally = self.tally
        pos = 0
        end = len(buf)
        while end - pos >= 2:
            length = buf[pos + 1] & 0x7F
            start = pos + 2
            if length >= 126:
                size = 2 if length == 126 else 8
                if end - start < size:
                    break
                length = int.from_bytes(buf[start : start + size])
                start += size
            stop = start + length
            if stop > end:
                break
            opcode = buf[pos] & 0x0F
            pos = stop
            if opcode == _TEXT:
                mark = buf.find(MARKER, start, stop)
                if mark >= 0:
                    value = mark + len(MARKER)
                    sent_ns = int(buf[value : buf.find(b",", value, stop)])
                    bucket = (now - sent_ns) // BUCKET_NS
                    tally.histogram[min(max(bucket, 0), LAST_BUCKET)] += 1
                    tally.received += 1
                    tally.last_ns = now
                    self.received += 1
                    if self.received == tally.total:
                        self.finished = True
                        tally.finish_one()
                elif not self.joined.done() and buf.find(ROOM_JOINED, start, stop) >= 0:
                    self.joined.set_result(None)
            elif opcode == _PING:
                pong = Frame(Opcode.PONG, bytes(buf[start:stop]))
                self._write(pong.serialize(mask=True, extensions=[]))
            elif opcode == _CLOSE:
                self._lose()
                self.close()
                return
        del buf[:pos]

    def _finish_handshake(self) -> bool:
        """Hand the HTTP response to websockets; then join the room. True once open."""
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return False
        handshake = self.handshake
        assert handshake is not None
        handshake.receive_data(bytes(self.buffer[: head_end + 4]))
        del self.buffer[: head_end + 4]
        self.handshake = None
        if handshake.state is not State.OPEN:
            error = handshake.handshake_exc or ConnectionError("handshake failed")
            if not self.joined.done():
                self.joined.set_exception(error)
            self.close()
            return False
        join = f'{{"event":"join_room","data":{{"room_name":"{ROOM}"}}}}'.encode()
        self._write(Frame(Opcode.TEXT, join).serialize(mask=True, extensions=[]))
        return True

    def _write(self, data: bytes) -> None:
        if self.transport is not None:
            self.transport.write(data)

    def _lose(self) -> None:
        if not self.finished:
            self.finished = True
            self.tally.dropped += 1
            self.tally.finish_one()

    def close(self) -> None:
        """Stop without counting as a loss (the run is over)."""
        self.finished = True
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.joined.done():
            self.joined.set_exception(exc or ConnectionError("closed before joining"))
        self._lose()


async def _subscribe(url: str, count: int, total: int, pipe: Connection) -> None:
    loop = asyncio.get_running_loop()
    tally = Tally(count, total, loop.create_future())
    gate = asyncio.Semaphore(CONNECTS_PER_WORKER)
    port = int(url.rsplit(":", 1)[1])

    async def join_one() -> Subscriber:
        async with gate:
            joined: asyncio.Future[None] = loop.create_future()
            _, subscriber = await loop.create_connection(
                lambda: Subscriber(url, tally, joined), HOST, port
            )
            await joined
            return subscriber

    async with asyncio.timeout(CONNECT_TIMEOUT):
        subscribers = await asyncio.gather(*(join_one() for _ in range(count)))
    pipe.send(("ready", count))
    await asyncio.to_thread(pipe.recv)  # the publisher starts
    cpu_start = time.process_time()
    # Sent once the last message is: pacing slips on a busy machine, so the
    # time left for late deliveries counts from there, not from the start.
    deadline_ns: int = await asyncio.to_thread(pipe.recv)
    try:
        async with asyncio.timeout(max(0.0, (deadline_ns - time.time_ns()) / 1e9)):
            await tally.done
    except TimeoutError:
        pass
    histogram = {i: n for i, n in enumerate(tally.histogram) if n}
    result = {
        "received": tally.received,
        "dropped": tally.dropped,
        "last_ns": tally.last_ns,
        "cpu_seconds": time.process_time() - cpu_start,
        "histogram": histogram,
    }
    pipe.send(("result", result))
    for subscriber in subscribers:
        subscriber.close()


def run_subscribers(url: str, count: int, total: int, pipe: Connection) -> None:
    """Worker process: ``count`` subscribers; reports on ``pipe``, errors included."""
    try:
        raise_nofile_limit(count + 64)
        asyncio.run(_subscribe(url, count, total, pipe))
    except Exception as exc:
        pipe.send(("error", f"{type(exc).__name__}: {exc}"))


# --- the coordinator ----------------------------------------------------------------


def terminate(process: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM, then SIGKILL if the process is still there after ``timeout`` seconds."""
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class RelayProcess:
    """One relay subprocess, stopped (SIGTERM, then SIGKILL) however the trial ends."""

    def __init__(self, name: str, workdir: Path) -> None:
        if name == "dispatch":
            db = str(workdir / "journal.sqlite3")
            # Every benchmark client comes from 127.0.0.1, and one publisher sends
            # the whole rate: lift the per-address cap and keep the per-connection
            # rate limit on (its check costs the same) but above any tested rate.
            args = ["-m", "dispatch_tui", "serve", "--host", HOST, "--port", "0", "--db", db,
                    "--max-connections-per-address", "0",
                    "--rate-limit", "100000", "--rate-burst", "100000"]  # fmt: skip
        else:
            script = CHECKOUT / "benchmarks" / "reference_relay.py"
            args = [str(script), "--host", HOST, "--port", "0"]
        self.command = [sys.executable, *args]
        self.log = workdir / f"{name}.log"
        self.url = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._ps: psutil.Process | None = None

    def __enter__(self) -> RelayProcess:
        with self.log.open("wb") as log:
            self._process = subprocess.Popen(
                self.command, cwd=CHECKOUT, stdout=subprocess.PIPE, stderr=log
            )
        assert self._process.stdout is not None
        ready, _, _ = select.select([self._process.stdout], [], [], STARTUP_TIMEOUT)
        line = self._process.stdout.readline().decode() if ready else ""
        found = re.search(r"listening on (ws://[\d.]+:\d+)", line)
        if found is None:
            self.stop()
            tail = self.log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{self.command} did not start: {line!r}\n{tail}")
        self.url = found.group(1)
        self._ps = psutil.Process(self._process.pid)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """SIGTERM lets dispatch flush its journal; SIGKILL if it takes too long."""
        if self._process is None:
            return
        terminate(self._process, 15)
        assert self._process.stdout is not None
        self._process.stdout.close()
        self._process = None

    @property
    def ps(self) -> psutil.Process:
        assert self._ps is not None, "relay not started"
        return self._ps

    def rss(self) -> int:
        return int(self.ps.memory_info().rss)

    def cpu_seconds(self) -> float:
        """User + system time of every thread (the journal writer included)."""
        times = self.ps.cpu_times()
        return float(times.user + times.system)


@dataclass(frozen=True, slots=True)
class Settings:
    """What the command line chose."""

    subscribers: int
    rates: list[float]
    size: int
    duration: float
    drain: float
    workers: int


@dataclass(frozen=True, slots=True)
class Trial:
    """The figures of one relay at one rate."""

    relay: str
    rate: float
    sent: int
    publish_seconds: float
    expected: int
    received: int
    dropped: int
    delivery_seconds: float
    p50_ms: float
    p99_ms: float
    wall_seconds: float
    relay_cpu_seconds: float
    clients_cpu_seconds: float
    rss_base: int
    rss_idle: int
    rss_peak: int
    subscribers: int

    @property
    def delivered_per_second(self) -> float:
        return self.received / self.delivery_seconds if self.delivery_seconds > 0 else 0.0

    @property
    def reach(self) -> float:
        return self.received / self.expected if self.expected else 0.0

    @property
    def relay_cpu(self) -> float:
        """Share of one core the relay used from the first send to the last result."""
        return self.relay_cpu_seconds / self.wall_seconds

    @property
    def relay_us_per_delivery(self) -> float:
        """Unlike the wall-clock figures, this leaves out time spent waiting for a core."""
        return self.relay_cpu_seconds / self.received * 1e6 if self.received else math.nan

    @property
    def kib_per_connection(self) -> float:
        return (self.rss_idle - self.rss_base) / self.subscribers / 1024

    @property
    def clean(self) -> bool:
        return self.reach >= CLEAN_REACH and self.p99_ms < CLEAN_P99_MS


def percentile_ms(histogram: Counter[int], fraction: float) -> float:
    """Upper edge of the bucket holding that share of the samples; inf past 10 s, NaN if none."""
    rank = fraction * sum(histogram.values())
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return math.inf if bucket == LAST_BUCKET else (bucket + 1) * BUCKET_NS / 1e6
    return math.nan


def _receive(pipe: Connection, tag: str, timeout: float) -> Any:
    if not pipe.poll(timeout):
        raise RuntimeError(f"a subscriber worker sent no {tag!r} within {timeout:.0f} s")
    got, value = pipe.recv()
    if got != tag:
        raise RuntimeError(f"subscriber worker: {value}")
    return value


async def _warm_up(url: str) -> None:
    """One client joins and leaves, so the idle baseline includes first-use costs."""
    async with (
        asyncio.timeout(STARTUP_TIMEOUT),
        connect(url, compression=None, open_timeout=STARTUP_TIMEOUT) as ws,
    ):
        await ws.send(f'{{"event":"join_room","data":{{"room_name":"{ROOM}-warmup"}}}}')
        async for frame in ws:
            if ROOM_JOINED.decode() in str(frame):
                break


@dataclass(frozen=True, slots=True)
class Publication:
    """What the publisher managed: a relay that falls behind slows it down."""

    sent: int
    seconds: float
    rss_peak: int


async def _publish(
    relay: RelayProcess,
    rate: float,
    total: int,
    settings: Settings,
    after_last: Callable[[], None],
    close_timeout: float = 10.0,
) -> Publication:
    """Send up to ``total`` messages paced at ``rate``, sampling the relay's RSS.

    A relay that cannot keep up pushes back on the publisher's socket; sending
    stops after ``duration + drain`` seconds so that the run stays bounded.
    ``after_last`` runs right after the last send, before the closing handshake,
    which waits up to ``close_timeout`` seconds for the relay to read its backlog.
    """
    prefix = '{"event":"send_to_room","data":{"room_name":"' + ROOM + '","message":{"sent_ns":'
    pad = "x" * max(0, settings.size - len('{"sent_ns":1234567890123456789,"pad":""}'))
    suffix = f',"pad":"{pad}"}}}}}}'
    peak = relay.rss()
    sent = 0
    async with connect(
        relay.url,
        compression=None,
        open_timeout=STARTUP_TIMEOUT,
        close_timeout=close_timeout,
    ) as ws:

        async def discard_replies() -> None:
            with contextlib.suppress(ConnectionClosed):
                async for _ in ws:
                    pass

        replies = asyncio.create_task(discard_replies())
        start = time.perf_counter()
        next_sample = start
        try:
            async with asyncio.timeout(settings.duration + settings.drain):
                for i in range(total):
                    delay = start + i / rate - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    await ws.send(f"{prefix}{time.time_ns()}{suffix}")
                    sent += 1
                    if time.perf_counter() >= next_sample:
                        peak = max(peak, relay.rss())
                        next_sample = time.perf_counter() + RSS_SAMPLE_SECONDS
        except TimeoutError:
            pass
        elapsed = time.perf_counter() - start
        after_last()
        replies.cancel()
    return Publication(sent, elapsed, peak)


def run_trial(name: str, rate: float, settings: Settings) -> Trial:
    """One fresh relay, N joined subscribers, one paced publisher."""
    total = round(rate * settings.duration)
    n = settings.subscribers
    shares = [n // settings.workers + (i < n % settings.workers) for i in range(settings.workers)]
    context = multiprocessing.get_context("spawn")
    with (
        tempfile.TemporaryDirectory(prefix="fanout-") as tmp,
        RelayProcess(name, Path(tmp)) as relay,
    ):
        asyncio.run(_warm_up(relay.url))
        time.sleep(SETTLE_SECONDS)
        rss_base = relay.rss()
        pipes: list[Connection] = []
        workers: list[multiprocessing.process.BaseProcess] = []
        try:
            for share in shares:
                ours, theirs = context.Pipe()
                process = context.Process(
                    target=run_subscribers, args=(relay.url, share, total, theirs), daemon=True
                )
                process.start()
                pipes.append(ours)
                workers.append(process)
            for pipe in pipes:
                _receive(pipe, "ready", CONNECT_TIMEOUT + STARTUP_TIMEOUT)
            time.sleep(SETTLE_SECONDS)
            rss_idle = relay.rss()
            cpu_start = relay.cpu_seconds()
            go_ns = time.time_ns()
            for pipe in pipes:
                pipe.send("go")

            def start_drain() -> None:
                for pipe in pipes:
                    pipe.send(time.time_ns() + int(settings.drain * 1e9))

            publication = asyncio.run(_publish(relay, rate, total, settings, start_drain))
            results = [_receive(pipe, "result", settings.drain + 60) for pipe in pipes]
            wall = (time.time_ns() - go_ns) / 1e9
            relay_cpu = relay.cpu_seconds() - cpu_start
            rss_peak = max(publication.rss_peak, relay.rss())
        finally:
            for worker in workers:
                worker.join(15)
                if worker.is_alive():
                    worker.terminate()
                    worker.join()
    histogram: Counter[int] = Counter()
    for result in results:
        histogram.update(result["histogram"])
    last_ns = max(r["last_ns"] for r in results)
    return Trial(
        relay=name,
        rate=rate,
        sent=publication.sent,
        publish_seconds=publication.seconds,
        expected=publication.sent * n,
        received=sum(r["received"] for r in results),
        dropped=sum(r["dropped"] for r in results),
        delivery_seconds=max(0.0, (last_ns - go_ns) / 1e9),
        p50_ms=percentile_ms(histogram, 0.50),
        p99_ms=percentile_ms(histogram, 0.99),
        wall_seconds=wall,
        relay_cpu_seconds=relay_cpu,
        clients_cpu_seconds=sum(r["cpu_seconds"] for r in results),
        rss_base=rss_base,
        rss_idle=rss_idle,
        rss_peak=rss_peak,
        subscribers=n,
    )


# --- report -------------------------------------------------------------------------


def _mib(size: float) -> str:
    return f"{size / 2**20:.1f}"


def _ratio(dispatch: float, reference: float) -> float:
    return dispatch / reference if reference else math.nan


def report(trials: list[Trial], settings: Settings) -> None:
    """The table, dispatch/reference ratios, the highest clean rate, memory per client."""
    print()
    print(
        f"{'relay':<10}{'rate/s':>7}{'sent':>7}{'pub/s':>8}{'delivered/s':>13}{'reach':>8}"
        f"{'p50 ms':>9}{'p99 ms':>9}{'dropped':>8}{'relay CPU':>10}{'us/delivery':>12}"
        f"{'clients CPU':>12}{'peak RSS MiB':>13}"
    )
    for t in sorted(trials, key=lambda t: (t.rate, RELAYS.index(t.relay))):
        print(
            f"{t.relay:<10}{t.rate:>7g}{t.sent:>7}{t.sent / t.publish_seconds:>8.1f}"
            f"{t.delivered_per_second:>13.0f}{t.reach:>8.4f}{t.p50_ms:>9.1f}{t.p99_ms:>9.1f}"
            f"{t.dropped:>8}{t.relay_cpu:>10.0%}{t.relay_us_per_delivery:>12.1f}"
            f"{t.clients_cpu_seconds / t.wall_seconds:>12.0%}{_mib(t.rss_peak):>13}"
        )
    # Rates where both relays ran (a relay past its capacity may have been skipped).
    by_rate = {rate: {t.relay: t for t in trials if t.rate == rate} for rate in settings.rates}
    by_rate = {rate: pair for rate, pair in by_rate.items() if len(pair) == len(RELAYS)}
    print()
    for rate, pair in by_rate.items():
        dispatch, reference = pair["dispatch"], pair["reference"]
        ratio = _ratio(dispatch.delivered_per_second, reference.delivered_per_second)
        cost = _ratio(dispatch.relay_us_per_delivery, reference.relay_us_per_delivery)
        print(
            f"rate {rate:g}/s: dispatch/reference delivered/s = {ratio:.3f}, "
            f"relay CPU per delivery = {cost:.2f}"
        )
    clean = [rate for rate, pair in by_rate.items() if all(t.clean for t in pair.values())]
    print()
    if clean:
        best = max(clean)
        pair = by_rate[best]
        ratio = _ratio(
            pair["dispatch"].delivered_per_second, pair["reference"].delivered_per_second
        )
        print(
            f"highest rate where both deliver everything (reach >= {CLEAN_REACH}) with "
            f"p99 < {CLEAN_P99_MS:g} ms: {best:g}/s; dispatch/reference delivered/s = {ratio:.3f}"
        )
    else:
        print(
            f"no rate where both deliver everything (reach >= {CLEAN_REACH}) "
            f"with p99 < {CLEAN_P99_MS:g} ms"
        )
    print()
    print(f"idle memory with {settings.subscribers} joined connections (median of every trial):")
    print(f"{'relay':<10}{'RSS 0 clients MiB':>18}{'RSS N clients MiB':>18}{'KiB/connection':>16}")
    for name in RELAYS:
        own = [t for t in trials if t.relay == name]
        base = statistics.median(t.rss_base for t in own)
        idle = statistics.median(t.rss_idle for t in own)
        per_connection = statistics.median(t.kib_per_connection for t in own)
        print(f"{name:<10}{_mib(base):>18}{_mib(idle):>18}{per_connection:>16.1f}")
    print_ratios(trials, by_rate, max(settings.rates))


def print_ratios(
    trials: list[Trial], by_rate: dict[float, dict[str, Trial]], top_rate: float
) -> None:
    """The figures the relay is judged on, last: capacity, CPU per delivery, memory."""
    capacity = {
        name: max((t.rate for t in trials if t.relay == name and t.clean), default=0.0)
        for name in RELAYS
    }
    print()
    at_least = (
        " (at least: clean at the highest rate tried)" if capacity["dispatch"] == top_rate else ""
    )
    print(
        f"capacity ratio dispatch/reference: "
        f"{_ratio(capacity['dispatch'], capacity['reference']):.2f}{at_least} "
        f"({capacity['dispatch']:g}/s against {capacity['reference']:g}/s; reach >= "
        f"{CLEAN_REACH}, p99 < {CLEAN_P99_MS:g} ms)"
    )
    common = [rate for rate, pair in by_rate.items() if all(t.clean for t in pair.values())]
    if common:
        pair = by_rate[max(common)]
        cost = _ratio(
            pair["dispatch"].relay_us_per_delivery, pair["reference"].relay_us_per_delivery
        )
        print(f"relay CPU per delivery dispatch/reference at {max(common):g}/s: {cost:.2f}")
    memory = {
        name: statistics.median(t.kib_per_connection for t in trials if t.relay == name)
        for name in RELAYS
    }
    print(
        f"idle memory per connection: dispatch {memory['dispatch']:.1f} KiB, "
        f"reference {memory['reference']:.1f} KiB"
    )


def parse_args() -> Settings:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1000, help="room members (N)")
    parser.add_argument(
        "--rates",
        help="publisher messages/s, comma-separated (default: 25..200 for 1000 subscribers, "
        "scaled by 1000/N)",
    )
    parser.add_argument("--size", type=int, default=256, help="bytes of each message's JSON")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of publishing")
    parser.add_argument(
        "--drain", type=float, default=10.0, help="seconds to wait for late deliveries"
    )
    parser.add_argument("--workers", type=int, default=2, help="subscriber processes")
    args = parser.parse_args()
    if args.rates is None:
        rates = [rate * 1000 / max(args.subscribers, 1) for rate in DEFAULT_RATES_AT_1000]
    else:
        rates = [float(rate) for rate in args.rates.split(",")]
    if args.subscribers < 1 or args.workers < 1 or min(rates) <= 0 or args.duration <= 0:
        parser.error("subscribers, workers, rates and duration must be positive")
    return Settings(args.subscribers, rates, args.size, args.duration, args.drain, args.workers)


def main() -> None:
    settings = parse_args()
    # The relay subprocess inherits this limit; workers raise their own.
    raise_nofile_limit(settings.subscribers + 256)
    print(
        f"fan-out: {settings.subscribers} subscribers in {settings.workers} processes, "
        f"{settings.size}-byte messages, {settings.duration:g} s per rate "
        f"(+ up to {settings.drain:g} s drain); Python {platform.python_version()}, "
        f"websockets {websockets_version}, {psutil.cpu_count()} CPUs"
    )
    trials: list[Trial] = []
    failures_in_a_row = dict.fromkeys(RELAYS, 0)
    for index, rate in enumerate(settings.rates):
        for name in RELAYS if index % 2 == 0 else reversed(RELAYS):
            if failures_in_a_row[name] >= FAILURES_BEFORE_SKIPPING:
                print(f"  {name} at {rate:g}/s: not run (failed at the two rates below)")
                continue
            trial = run_trial(name, rate, settings)
            failures_in_a_row[name] = 0 if trial.clean else failures_in_a_row[name] + 1
            print(
                f"  {name} at {rate:g}/s: {trial.delivered_per_second:.0f} delivered/s, "
                f"reach {trial.reach:.4f}, p99 {trial.p99_ms:.1f} ms",
                flush=True,
            )
            trials.append(trial)
    report(trials, settings)


if __name__ == "__main__":
    main()
