"""Cluster benchmark: fan-out through two relays sharing one Redis, against one relay.

    python benchmarks/cluster.py [--subscribers N] [--rates R1,R2,...] [--size S]
                                 [--duration D] [--drain D] [--workers W] [--repeat K]

Every trial starts fresh processes. *single*: one ``dispatch serve`` with all N
subscribers. *cluster*: a ``redis-server`` on a free loopback port and two
``dispatch serve --redis`` (relays A and B), N/2 subscribers on each. Both
setups journal to temporary SQLite files and answer every message with its
``sent`` ack; their per-connection rate limit is off, so that the relays, not
the limiter, set the capacity. One publisher sends ``send_to_room`` at R
messages/s of S bytes to relay A for D seconds; in the cluster every message
goes through the Redis log before either relay delivers it, so the subscribers
of relay B measure the cross-relay path (columns p99 A and p99 B).

Subscribers, publisher (it reads and discards the acks), latency (send to
receipt, one clock for every process) and the clean bound (reach >= 0.999 with
p99 < 100 ms) are those of ``fanout.py``; server CPU is the relays' and Redis's
CPU time as a share of one core. A setup's capacity in one repetition is the
highest rate of ``--rates`` at which it is clean. Each repetition runs every
rate for both setups, alternating which goes first (by rate and by repetition)
so that a machine getting busier favours neither; the table shows medians over
the K repetitions, and the last two lines the ratios of the medians. Relays,
Redis, publisher and subscribers share the machine's cores, so on a small
machine the ratio says more than the absolute figures.

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
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType

import psutil
from fanout import (
    CLEAN_P99_MS,
    CLEAN_REACH,
    CONNECT_TIMEOUT,
    HOST,
    STARTUP_TIMEOUT,
    RelayProcess,
    Settings,
    _publish,
    _receive,
    percentile_ms,
    raise_nofile_limit,
    run_subscribers,
    terminate,
)
from websockets.version import version as websockets_version

SETUPS = ("single", "cluster")
RELAY_NAMES = ("A", "B")
REDIS_STARTUP_TIMEOUT = 10.0
REDIS_STOP_TIMEOUT = 5.0
#: Relay log lines worth reporting (the format of ``dispatch serve``'s logging).
ODD_LINE = re.compile(r" (WARNING|ERROR|CRITICAL) |Traceback")
ODD_LINES_SHOWN = 5
#: Pause between the last join and the first send; shorter than fanout.py's, which
#: also lets the relay's memory settle before sampling it.
SETTLE_SECONDS = 0.5


def redis_server_path() -> str:
    """The cluster side needs a real Redis; say so plainly when there is none."""
    server = shutil.which("redis-server")
    if server is None:
        raise SystemExit("cluster.py needs redis-server on PATH (apt-get install redis-server)")
    return server


class RedisProcess:
    """A throwaway ``redis-server`` on loopback, stopped however the trial ends."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.log = workdir / "redis.log"
        self.url = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._ps: psutil.Process | None = None

    def __enter__(self) -> RedisProcess:
        server = redis_server_path()
        with socket.socket() as probe:
            probe.bind((HOST, 0))
            port = int(probe.getsockname()[1])
        command = [server, "--port", str(port), "--bind", HOST, "--save", ""]
        command += ["--appendonly", "no", "--dir", str(self.workdir)]
        # Its own session keeps Ctrl-C away from it: the relays, which Ctrl-C reaches,
        # stop quickly only while Redis is up; it is stopped after them.
        with self.log.open("wb") as log:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_ready(port)
        except BaseException:
            self.stop()
            raise
        self.url = f"redis://{HOST}:{port}/0"
        self._ps = psutil.Process(self._process.pid)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _wait_ready(self, port: int) -> None:
        """The relays give up on a Redis that does not answer, so wait for its PONG."""
        assert self._process is not None
        deadline = time.monotonic() + REDIS_STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            with (
                contextlib.suppress(OSError),
                socket.create_connection((HOST, port), timeout=1.0) as conn,
            ):
                conn.sendall(b"PING\r\n")
                if conn.recv(64).startswith(b"+PONG"):
                    return
            time.sleep(0.05)
        tail = self.log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"redis-server on port {port} did not start:\n{tail}")

    def stop(self) -> None:
        """SIGTERM (nothing to save), SIGKILL if it lingers."""
        if self._process is None:
            return
        terminate(self._process, REDIS_STOP_TIMEOUT)
        self._process = None

    def cpu_seconds(self) -> float:
        """Redis works for the cluster, so its CPU counts with the relays'."""
        assert self._ps is not None, "redis-server not started"
        times = self._ps.cpu_times()
        return float(times.user + times.system)


def dispatch_relay(workdir: Path, redis_url: str | None) -> RelayProcess:
    """fanout.py's dispatch relay in its own directory (journal, log), rate limit off."""
    workdir.mkdir()
    relay = RelayProcess("dispatch", workdir)
    relay.command += ["--rate-limit", "0"]
    if redis_url is not None:
        relay.command += ["--redis", redis_url]
    return relay


def split(total: int, parts: int) -> list[int]:
    """``total`` as ``parts`` shares that differ by at most one."""
    return [total // parts + (i < total % parts) for i in range(parts)]


@dataclass(frozen=True, slots=True)
class Trial:
    """The figures of one setup at one rate in one repetition."""

    setup: str
    rate: float
    repetition: int
    sent: int
    expected: int
    received: int
    dropped: int
    p50_ms: float
    p99_ms: float
    #: p99 of the subscribers of each relay (A, then B in the cluster).
    p99_by_relay_ms: tuple[float, ...]
    #: Relays' and Redis's CPU time as a share of one core, first send to last result.
    server_cpu: float
    odd_lines: tuple[str, ...]

    @property
    def reach(self) -> float:
        return self.received / self.expected if self.expected else 0.0

    @property
    def clean(self) -> bool:
        return self.reach >= CLEAN_REACH and self.p99_ms < CLEAN_P99_MS


def _odd_lines(log: Path) -> list[str]:
    """Warnings, errors and tracebacks a relay logged, for the report."""
    text = log.read_text(errors="replace") if log.exists() else ""
    return [f"{log.parent.name}: {line}" for line in text.splitlines() if ODD_LINE.search(line)]


def run_trial(setup: str, rate: float, repetition: int, settings: Settings) -> Trial:
    """Fresh relays (and Redis), N joined subscribers split over them, one paced publisher."""
    total = round(rate * settings.duration)
    n = settings.subscribers
    names = RELAY_NAMES if setup == "cluster" else RELAY_NAMES[:1]
    per_relay_workers = settings.workers // len(names)
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="cluster-") as tmp:
        workdir = Path(tmp)
        with contextlib.ExitStack() as stack:
            redis = stack.enter_context(RedisProcess(workdir)) if setup == "cluster" else None
            redis_url = None if redis is None else redis.url
            relays = [dispatch_relay(workdir / name, redis_url) for name in names]
            for relay in relays:
                stack.callback(relay.stop)  # a no-op for a relay that never started
            # Side by side: one after the other, start-up would add half a second a trial.
            with ThreadPoolExecutor(len(relays)) as pool:
                list(pool.map(RelayProcess.__enter__, relays))

            def server_cpu_seconds() -> float:
                own = sum(relay.cpu_seconds() for relay in relays)
                return own + (0.0 if redis is None else redis.cpu_seconds())

            pipes: list[Connection] = []
            owners: list[int] = []  # index in ``relays`` of each worker's relay
            workers: list[multiprocessing.process.BaseProcess] = []
            finished = False
            try:
                for index, (relay, count) in enumerate(
                    zip(relays, split(n, len(relays)), strict=True)
                ):
                    for share in split(count, per_relay_workers):
                        ours, theirs = context.Pipe()
                        process = context.Process(
                            target=run_subscribers,
                            args=(relay.url, share, total, theirs),
                            daemon=True,
                        )
                        process.start()
                        pipes.append(ours)
                        owners.append(index)
                        workers.append(process)
                for pipe in pipes:
                    _receive(pipe, "ready", CONNECT_TIMEOUT + STARTUP_TIMEOUT)
                time.sleep(SETTLE_SECONDS)
                cpu_start = server_cpu_seconds()
                go_ns = time.time_ns()
                for pipe in pipes:
                    pipe.send("go")

                def start_drain() -> None:
                    for pipe in pipes:
                        pipe.send(time.time_ns() + int(settings.drain * 1e9))

                # Nothing the relay reads after the drain is counted: do not wait longer.
                publish = _publish(relays[0], rate, total, settings, start_drain, settings.drain)
                publication = asyncio.run(publish)
                results = [_receive(pipe, "result", settings.drain + 60) for pipe in pipes]
                wall = (time.time_ns() - go_ns) / 1e9
                server_cpu = (server_cpu_seconds() - cpu_start) / wall
                finished = True
            finally:
                for worker in workers:
                    worker.join(15 if finished else 0)
                    if worker.is_alive():
                        worker.terminate()
                        worker.join()
        odd = tuple(line for name in names for line in _odd_lines(workdir / name / "dispatch.log"))
    histogram: Counter[int] = Counter()
    by_relay: list[Counter[int]] = [Counter() for _ in relays]
    for owner, result in zip(owners, results, strict=True):
        histogram.update(result["histogram"])
        by_relay[owner].update(result["histogram"])
    return Trial(
        setup=setup,
        rate=rate,
        repetition=repetition,
        sent=publication.sent,
        expected=publication.sent * n,
        received=sum(r["received"] for r in results),
        dropped=sum(r["dropped"] for r in results),
        p50_ms=percentile_ms(histogram, 0.50),
        p99_ms=percentile_ms(histogram, 0.99),
        p99_by_relay_ms=tuple(percentile_ms(h, 0.99) for h in by_relay),
        server_cpu=server_cpu,
        odd_lines=odd,
    )


# --- report -------------------------------------------------------------------------


def _ratio(cluster: float, single: float) -> float:
    """NaN rather than an error when the single relay was never clean."""
    return cluster / single if single else math.nan


def _capacity(trials: list[Trial], setup: str, repetition: int) -> float:
    """Highest clean rate of one setup in one repetition; 0 when none was clean."""
    clean = [t.rate for t in trials if t.setup == setup and t.repetition == repetition and t.clean]
    return max(clean, default=0.0)


def report(trials: list[Trial], settings: Settings, repeat: int) -> None:
    """Per-rate medians, capacities, the relays' odd log lines, then the two ratios."""
    print()
    print(f"medians of {repeat} repetition(s); p99 A / B: subscribers of relay A / B")
    print(
        f"{'setup':<9}{'rate/s':>7}{'sent':>7}{'reach':>8}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'p99 A ms':>10}{'p99 B ms':>10}{'dropped':>8}{'server CPU':>11}{'clean':>7}"
    )
    p99: dict[tuple[str, float], float] = {}
    for rate in settings.rates:
        for setup in SETUPS:
            own = [t for t in trials if t.setup == setup and t.rate == rate]
            p99[setup, rate] = statistics.median(t.p99_ms for t in own)
            by_relay = [
                f"{statistics.median(t.p99_by_relay_ms[i] for t in own):>10.1f}"
                if len(own[0].p99_by_relay_ms) > i
                else f"{'-':>10}"
                for i in range(len(RELAY_NAMES))
            ]
            print(
                f"{setup:<9}{rate:>7g}{statistics.median(t.sent for t in own):>7g}"
                f"{statistics.median(t.reach for t in own):>8.4f}"
                f"{statistics.median(t.p50_ms for t in own):>9.1f}{p99[setup, rate]:>9.1f}"
                f"{''.join(by_relay)}{statistics.median(t.dropped for t in own):>8g}"
                f"{statistics.median(t.server_cpu for t in own):>11.0%}"
                f"{sum(t.clean for t in own):>5}/{len(own)}"
            )
    print()
    print(f"capacity: highest rate with reach >= {CLEAN_REACH} and p99 < {CLEAN_P99_MS:g} ms")
    capacity: dict[str, float] = {}
    for setup in SETUPS:
        each = [_capacity(trials, setup, r) for r in range(repeat)]
        capacity[setup] = statistics.median_low(each)
        note = (
            " (the highest rate tried: may be higher)"
            if capacity[setup] == max(settings.rates)
            else ""
        )
        listed = ", ".join(f"{c:g}" for c in each)
        print(f"  {setup:<8} {capacity[setup]:g}/s{note}; per repetition: {listed}")
    odd = [line for t in trials for line in t.odd_lines]
    print()
    print(f"relay logs: {len(odd)} warning/error line(s)")
    for line in list(dict.fromkeys(odd))[:ODD_LINES_SHOWN]:
        print(f"  {line}")
    common = min(capacity.values()) or min(settings.rates)
    print()
    print(f"capacity ratio cluster/single: {_ratio(capacity['cluster'], capacity['single']):.2f}")
    print(
        f"p99 ratio cluster/single at {common:g}/s: "
        f"{_ratio(p99['cluster', common], p99['single', common]):.2f}"
    )


def parse_args() -> tuple[Settings, int]:
    """fanout.py's settings (same meaning, smaller defaults for 2 cores) and K."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=200, help="room members (N)")
    parser.add_argument(
        "--rates", default="125,175,250,350", help="publisher messages/s, comma-separated"
    )
    parser.add_argument("--size", type=int, default=256, help="bytes of each message's JSON")
    parser.add_argument("--duration", type=float, default=3.0, help="seconds of publishing")
    parser.add_argument(
        "--drain", type=float, default=1.5, help="seconds to wait for late deliveries"
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="subscriber processes (even: half per relay)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="repetitions (K)")
    args = parser.parse_args()
    rates = sorted({float(rate) for rate in args.rates.split(",")})
    if min(rates) <= 0 or args.duration <= 0 or args.drain < 0 or args.repeat < 1:
        parser.error("rates, duration and repeat must be positive, drain not negative")
    if args.workers < 2 or args.workers % 2 or args.subscribers < args.workers:
        parser.error("workers must be even, at least 2 and at most the subscribers")
    settings = Settings(args.subscribers, rates, args.size, args.duration, args.drain, args.workers)
    return settings, args.repeat


def main() -> None:
    settings, repeat = parse_args()
    redis_server_path()  # before any trial, not halfway through the run
    # The relay subprocesses inherit this limit; workers raise their own.
    raise_nofile_limit(settings.subscribers + 256)
    print(
        f"cluster fan-out: {settings.subscribers} subscribers in {settings.workers} processes, "
        f"{settings.size}-byte messages, {settings.duration:g} s per rate "
        f"(+ up to {settings.drain:g} s drain), {repeat} repetition(s); "
        f"Python {platform.python_version()}, websockets {websockets_version}, "
        f"{psutil.cpu_count()} CPUs",
        flush=True,
    )
    trials: list[Trial] = []
    for repetition in range(repeat):
        for index, rate in enumerate(settings.rates):
            order = SETUPS if (repetition + index) % 2 == 0 else reversed(SETUPS)
            for setup in order:
                trial = run_trial(setup, rate, repetition, settings)
                print(
                    f"  #{repetition + 1} {setup} at {rate:g}/s: reach {trial.reach:.4f}, "
                    f"p99 {trial.p99_ms:.1f} ms",
                    flush=True,
                )
                trials.append(trial)
    report(trials, settings, repeat)


if __name__ == "__main__":
    main()
