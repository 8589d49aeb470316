"""The console under load: keystroke-to-screen latency and memory while a relay streams.

    python benchmarks/console_load.py [--rate 500] [--duration 30] [--idle 10]
                                      [--max-lines 500] [--connections N]

The target (from the issue): while a relay sends 500 events/s (transcripts,
chat, suggestions) for 30 s, keystroke-to-screen latency stays under 100 ms at
p99, and memory stays flat once the panes are full.

Three processes, so that this one holds nothing but the console:

- the relay, ``dispatch serve --agent rules --idle-gap 0.3 --db :memory:``, as an
  operator runs it (in this process its journal would be charged to the
  console's RSS and its work to the console's event loop);
- a load generator (a child process) that sends ``--rate`` requests/s for
  ``--duration`` s: 60% ``publish_transcript`` (interim and final fragments of
  8 concurrent calls; a call ends after 120 turns and a new one takes its slot)
  and 40% ``send_to_room`` chat, half to dispatch_center and half to field_ops.
  The relay's rules agent adds ``ai_suggestion`` events of its own. It uses one
  WebSocket connection per 250 requests/s (half the relay's per-connection
  rate limit) unless ``--connections`` says otherwise, and when the relay falls
  behind its schedule slips rather than bursting;
- this process: the real ``DispatchApp`` with a real ``DispatchClient``, headless
  (``run_test(size=(160, 48))``), in dispatch_center (shown) and field_ops.

Keystroke probe: a thread plays the terminal's input thread. A key is due
every 200 ms, whether or not the previous one is on screen (a typist does not
wait); the thread hands it as a ``Key`` event to the driver
(``driver.send_message``, as real drivers' input threads do), so it goes
through the app's bindings to the focused ``#message`` input like a typed key.
Its latency runs from when it was due (so time the thread waited for the GIL
counts, as it would for a real input thread) to the first screen update
(``App._display``) whose compositor pass drew the input's line with the key in
it. A headless driver drops its output, so every update is also encoded into
terminal bytes (``render_segments``), the cost a real terminal adds. Keys not
drawn 10 s after their phase ended count as infinitely late.

Reference: the same probe on the same connected console during ``--idle`` s
before the load, once the console has had 3 s to settle. Loaded / idle ratios
are printed, then p99 under load against the issue's 100 ms. With a key every
200 ms, p99 of the idle phase rests on few samples (50 in 10 s): read it as an
upper percentile, not a precise one.

Memory: RSS of this process every second. "Filled" is the sample a third into
the load (at 500/s the chat panes hold ``--max-lines`` lines after a few
seconds); flat means end / filled close to 1. The sizes of the
console's bounded collections, its widget count and the client's queue of
unhandled events are printed beside it. Events handled by the console are
counted per kind, and the time it needs after the load to handle everything
the relay accepted shows whether it kept up. Garbage collections of this
process are timed per phase, since they stall every thread, keys included.

On a small machine the relay and the generator share the CPU with the
console; the CPU each used during the load is printed, and so are the busy and
stolen (hypervisor) shares of the whole machine in each phase, so a reader can
tell a slow console from a starved one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import multiprocessing
import re
import select
import signal
import string
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import psutil
from textual import events
from textual.widgets import Input
from websockets.asyncio.client import ClientConnection, connect

from dispatch_tui.app import ConsoleSettings, DispatchApp
from dispatch_tui.client import DispatchClient, LinkState
from dispatch_tui.widgets.chat import ChatLog

CHECKOUT = Path(__file__).resolve().parents[1]
ROOMS = ("dispatch_center", "field_ops")
SIZE = (160, 48)
IDLE_GAP = 0.3
CALL_SLOTS = 8
TURNS_PER_CALL = 120
WORDS_PER_FRAGMENT = 3
PROBE_INTERVAL = 0.2
PROBE_TIMEOUT = 10.0
#: The input is emptied (once its keys are drawn) when this many probe keys are in it.
PROBE_RESET = 400
TARGET_P99_MS = 100.0
#: Keystroke p99 under load against the idle reference, at most (the issue's other target).
TARGET_P99_RATIO = 1.5
STARTUP_TIMEOUT = 60.0
#: Time for the console to finish its start (history, member lists, first draws).
SETTLE_SECONDS = 3.0
#: How long the console may take, after the load, to handle what the relay accepted.
CATCH_UP_TIMEOUT = 60.0
#: How long the generator waits for a send, or for the last replies.
ACK_TIMEOUT = 30.0
#: Seconds of missed schedule the generator may catch up on at once (the relay lets a
#: connection burst 1000 messages over its 500/s).
MAX_CATCH_UP = 1.0
#: Requests/s per generator connection: half the relay's default per-connection limit.
PER_CONNECTION = 250.0
MIB = 1 << 20

CALLER_LINES = (
    "my husband collapsed at 418 elm street and he is not breathing",
    "there is smoke pouring out of the apartment at 77 harbor road",
    "a car hit a pole on highway 9 near mile marker 112 and the driver is bleeding",
    "my mother's face is drooping and her speech is slurred we are at 22 willow lane",
    "someone broke into the house next door at 9 birch court i can hear yelling",
    "my little boy swallowed some pills from the cabinet he is very sleepy",
)
DISPATCHER_LINES = (
    "what is the address of the emergency",
    "is he awake and is he breathing normally",
    "is anyone inside the building right now",
    "stay on the line help is on the way",
    "can you tell me exactly what happened",
)
CHAT_LINES = (
    "Unit {n} en route to 418 elm street",
    "Engine {n} on scene, working fire, second alarm requested",
    "Medic {n} transporting one patient to county general",
    "urgent: unit {n} needs backup at the bridge",
    "Unit {n} clear and available",
)


@dataclass(slots=True)
class CallScript:
    """One call slot: turns of caller and dispatcher, sent as interim then final fragments."""

    slot: int
    generation: int = 0
    turn: int = 0
    words_sent: int = 0

    def next_fragment(self) -> dict[str, Any]:
        caller = self.turn % 2 == 0
        lines = CALLER_LINES if caller else DISPATCHER_LINES
        words = lines[(self.slot + self.turn // 2) % len(lines)].split()
        self.words_sent = min(len(words), self.words_sent + WORDS_PER_FRAGMENT)
        final = self.words_sent == len(words)
        data = {
            "call_id": f"bench-{self.slot}-{self.generation}",
            "speaker": "caller" if caller else "dispatcher",
            "text": " ".join(words[: self.words_sent]),
            "is_final": final,
            "segment_id": f"turn-{self.turn}",
        }
        if final:
            self.words_sent = 0
            self.turn += 1
            if self.turn == TURNS_PER_CALL:
                self.turn = 0
                self.generation += 1
        return data


class Traffic:
    """The generator's requests in order: six transcript fragments, then four chat lines."""

    def __init__(self) -> None:
        self.calls = [CallScript(slot) for slot in range(CALL_SLOTS)]
        self.count = 0
        self.fragments = 0

    def next_request(self) -> str:
        n = self.count
        self.count += 1
        if n % 10 < 6:
            call = self.calls[self.fragments % CALL_SLOTS]
            self.fragments += 1
            event, data, kind = "publish_transcript", call.next_fragment(), "t"
        else:
            room = ROOMS[n % 2]
            text = CHAT_LINES[(n // 2) % len(CHAT_LINES)].format(n=n % 90 + 10)
            event, data, kind = "send_to_room", {"room_name": room, "message": text}, "c"
        return json.dumps({"event": event, "data": data, "id": f"{kind}{n}"})


@dataclass(slots=True)
class Tally:
    """What the generator's connections have read back from the relay."""

    acked: Counter[str] = field(default_factory=Counter)
    merged: int = 0
    errors: int = 0
    suggestions: int = 0
    first_error: str = ""

    def answered(self) -> int:
        return sum(self.acked.values()) + self.errors


async def read_replies(ws: ClientConnection, tally: Tally, count_suggestions: bool) -> None:
    """Drain a connection (transcripts reach every client) and count the replies."""
    try:
        async for frame in ws:
            text = frame if isinstance(frame, str) else frame.decode()
            if text.startswith('{"event":"sent"'):
                reply = json.loads(text)
                tally.acked[str(reply.get("id", "?"))[:1]] += 1
                tally.merged += bool(reply["data"].get("merged"))
            elif text.startswith('{"event":"error"'):
                tally.errors += 1
                tally.first_error = tally.first_error or text[:200]
            elif count_suggestions and text.startswith('{"event":"ai_suggestion"'):
                tally.suggestions += 1
    except Exception as exc:
        # The relay closed it (a generator too slow to read is a "slow consumer").
        tally.first_error = tally.first_error or f"connection lost: {exc!r}"


async def generate(
    url: str, rate: float, duration: float, connections: int, pipe: Connection
) -> None:
    """Connect, wait for the go, send at ``rate`` for ``duration`` s, report on ``pipe``."""
    sockets: list[ClientConnection] = []
    for index in range(connections):
        ws = await connect(url, compression=None, max_size=None)
        for _ in range(2):  # welcome, status
            await ws.recv()
        await ws.send(json.dumps({"event": "identify", "data": {"name": f"Unit {index + 1}"}}))
        await ws.recv()
        sockets.append(ws)
    tally = Tally()
    readers = [
        asyncio.create_task(read_replies(ws, tally, index == 0)) for index, ws in enumerate(sockets)
    ]
    pipe.send("ready")
    await asyncio.to_thread(pipe.recv)
    traffic = Traffic()
    loop = asyncio.get_running_loop()
    total = int(rate * duration)
    started = loop.time()
    # A relay that cannot keep up gets three times the duration; then the run ends.
    deadline = started + 3 * duration + ACK_TIMEOUT
    sent = throttled = 0
    slipped = 0.0
    while sent < total and loop.time() < deadline and not any(r.done() for r in readers):
        due = min(total, int(rate * (loop.time() - started - slipped)) + 1) - sent
        # Behind schedule (a busy machine, or held back below): the schedule slips
        # rather than bursting, since a burst trips the relay's per-connection limit.
        if due > rate * MAX_CATCH_UP:
            slipped += due / rate - MAX_CATCH_UP
            due = int(rate * MAX_CATCH_UP)
        # At most a second of requests unanswered: beyond that the relay is the limit.
        if sent - tally.answered() > rate:
            throttled += 1
            due = 0
        for _ in range(due):
            ws = sockets[sent % connections]
            await asyncio.wait_for(ws.send(traffic.next_request()), ACK_TIMEOUT)
            sent += 1
        await asyncio.sleep(0.005)
    sending = loop.time() - started
    waited = loop.time() + ACK_TIMEOUT
    while tally.answered() < sent and loop.time() < waited and not any(r.done() for r in readers):
        await asyncio.sleep(0.05)
    acked_in = loop.time() - started
    pipe.send(
        {
            "sent": sent,
            "unsent": total - sent,
            "unanswered": sent - tally.answered(),
            "transcripts_acked": tally.acked["t"],
            "chat_acked": tally.acked["c"],
            "merged": tally.merged,
            "errors": tally.errors,
            "first_error": tally.first_error,
            "suggestions": tally.suggestions,
            "sending_seconds": sending,
            "acked_seconds": acked_in,
            "throttled_ticks": throttled,
        }
    )
    await asyncio.to_thread(pipe.recv)  # the console has caught up: hang up now
    for ws in sockets:
        await ws.close()
    for reader in readers:
        reader.cancel()


def run_generator(
    url: str, rate: float, duration: float, connections: int, pipe: Connection
) -> None:
    """Child process: the load generator; errors go back on ``pipe`` too."""
    try:
        asyncio.run(generate(url, rate, duration, connections, pipe))
    except Exception as exc:
        pipe.send({"error": f"{type(exc).__name__}: {exc}"})


def receive(pipe: Connection, timeout: float) -> Any:
    """The generator's next message; an error report if it died or said nothing in time."""
    try:
        if pipe.poll(timeout):
            return pipe.recv()
    except EOFError:
        return {"error": "the generator exited without a report"}
    return {"error": f"no report from the generator within {timeout:g} s"}


class RelayProcess:
    """``dispatch serve`` in a subprocess; SIGTERM then SIGKILL however the run ends."""

    def __init__(self, workdir: Path) -> None:
        self.command = [
            sys.executable,
            "-m",
            "dispatch_tui",
            "serve",
            "--port",
            "0",
            "--db",
            ":memory:",
            "--agent",
            "rules",
            "--idle-gap",
            str(IDLE_GAP),
        ]
        self.log = workdir / "relay.log"
        self.url = ""
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> RelayProcess:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                self.command, cwd=CHECKOUT, stdout=subprocess.PIPE, stderr=log
            )
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], STARTUP_TIMEOUT)
        line = self.process.stdout.readline().decode() if ready else ""
        found = re.search(r"listening on (ws://[\d.]+:\d+)", line)
        if found is None:
            self.stop()
            raise RuntimeError(f"the relay did not start: {line!r}\n{self.log.read_text()}")
        self.url = found.group(1)
        return self

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(15)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def warnings(self) -> list[str]:
        """Lines the relay logged at WARNING or above (slow consumers, agent failures)."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return [line for line in text.splitlines() if "WARNING" in line or "ERROR" in line]


class Probe:
    """A typist in a thread, as a terminal's input thread delivers keys, timed to the screen.

    A key is due every ``PROBE_INTERVAL`` whether or not the previous one is on
    screen yet, and is timed from when it was due. The input's value only grows
    by these keys, so its length when an update draws it (hooks on its
    ``render_line`` and on ``App._display``, both looked up on the instance)
    tells which keys that update showed.
    """

    def __init__(self, app: DispatchApp, field: Input) -> None:
        self.app = app
        self.field = field
        #: Samples are labelled with the phase their key was due in; None: not typing.
        self.phase: str | None = None
        self.samples: dict[str, list[float]] = {"idle": [], "load": []}
        self.undrawn: Counter[str] = Counter()
        #: Keys not drawn yet: (length of the value once drawn, time due, phase).
        self.pending: deque[tuple[int, float, str]] = deque()
        self.drawn_length = 0
        self.typed = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._type, name="probe", daemon=True)
        self._render_line = field.render_line
        self._display = app._display
        field.render_line = self._hooked_render_line  # type: ignore[method-assign]
        app._display = self._hooked_display  # type: ignore[method-assign]

    def _hooked_render_line(self, y: int) -> Any:
        if y == 0:  # the line with the text, drawn from the value as it is now
            self.drawn_length = len(self.field.value)
        return self._render_line(y)

    def _hooked_display(self, screen: Any, renderable: Any) -> None:
        self._display(screen, renderable)
        if renderable is not None and hasattr(renderable, "render_segments"):
            renderable.render_segments(self.app.console)
        now = time.perf_counter()
        pending = self.pending
        while pending and pending[0][0] <= self.drawn_length:
            _, sent_at, phase = pending.popleft()
            self.samples[phase].append(now - sent_at)

    def start(self, phase: str) -> None:
        self.phase = phase
        if not self.thread.is_alive():
            self.thread.start()

    async def pause(self) -> None:
        """Stop typing and wait for the keys in flight; those never drawn are counted."""
        self.phase = None
        await wait_for(lambda: not self.pending, PROBE_TIMEOUT)
        while self.pending:
            self.undrawn[self.pending.popleft()[2]] += 1

    async def stop(self) -> None:
        await self.pause()
        self.stopping.set()
        await asyncio.to_thread(self.thread.join)

    def latencies(self, phase: str) -> list[float]:
        """Sorted; a key never drawn counts as infinitely late."""
        return sorted(self.samples[phase]) + [math.inf] * self.undrawn[phase]

    def _type(self) -> None:
        letters = string.ascii_lowercase
        driver = self.app._driver
        assert driver is not None
        next_at = time.perf_counter()
        while not self.stopping.is_set():
            # Keys stay due on their schedule: a thread that wakes late sends the
            # overdue ones at once, each timed from when it was due.
            next_at += PROBE_INTERVAL
            delay = next_at - time.perf_counter()
            if delay > 0 and self.stopping.wait(delay):
                return
            phase = self.phase
            if phase is None:
                next_at = time.perf_counter()
                continue
            if self.typed >= PROBE_RESET:
                if not self.pending:
                    self.app.call_from_thread(self._clear)
                next_at = time.perf_counter()  # no key is due while the input is emptied
                continue
            char = letters[self.typed % len(letters)]
            self.typed += 1
            key = events.Key(char, char)
            key.set_sender(self.app)
            self.pending.append((self.typed, next_at, phase))
            driver.send_message(key)

    def _clear(self) -> None:
        self.field.value = ""
        self.drawn_length = 0
        self.typed = 0


class GcPauses:
    """Wall time of this process's garbage collections: they stall every thread."""

    def __init__(self) -> None:
        self.phase = "start"
        self.pauses: dict[str, list[tuple[int, float]]] = {}
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, stage: str, info: dict[str, int]) -> None:
        if stage == "start":
            self._started = time.perf_counter()
        else:
            pause = (info["generation"], time.perf_counter() - self._started)
            self.pauses.setdefault(self.phase, []).append(pause)

    def close(self) -> None:
        gc.callbacks.remove(self._callback)

    def summary(self, phase: str) -> str:
        pauses = self.pauses.get(phase, [])
        total = sum(seconds for _, seconds in pauses) * 1000
        longest = max((seconds for _, seconds in pauses), default=0.0) * 1000
        full = sum(1 for generation, _ in pauses if generation == 2)
        return (
            f"{phase} {len(pauses)} ({full} full), {total:.0f} ms in all, longest {longest:.0f} ms"
        )


@dataclass(slots=True)
class Sample:
    """The console process once a second."""

    #: ``time.perf_counter()`` when taken.
    at: float
    rss: int
    backlog: int
    widgets: int


@dataclass(slots=True)
class Run:
    """Everything one run measured, for the report."""

    probe: Probe
    samples: list[Sample]
    #: Events handled when the load began, and when the generator reported.
    handled_before: Counter[str]
    handled_during: Counter[str]
    load_started: float
    load_seconds: float
    catch_up: float | None
    generator: dict[str, Any]
    #: CPU time used, in cores: per process under load, and the console idle.
    cpu: dict[str, float]
    #: Busy and stolen shares of the whole machine, per phase.
    machine: dict[str, tuple[float, float]]
    bounded: dict[str, str]
    bells: int
    collections: GcPauses


def count_handled(app: DispatchApp) -> Counter[str]:
    """Count the events the console folds into its state, per kind."""
    handled: Counter[str] = Counter()
    handle = app.handle_event

    def counting(event: dict[str, Any]) -> None:
        handled[str(event.get("event"))] += 1
        handle(event)

    app.handle_event = counting  # type: ignore[method-assign]
    return handled


async def sample_every_second(app: DispatchApp, out: list[Sample]) -> None:
    me = psutil.Process()
    while True:
        out.append(
            Sample(
                time.perf_counter(),
                me.memory_info().rss,
                app.client._events.qsize(),
                len(list(app.main.walk_children(with_self=False))),
            )
        )
        await asyncio.sleep(1.0)


def delivered(handled: Counter[str], before: Counter[str]) -> int:
    """Transcripts and chat lines the console handled since ``before``."""
    kinds = ("transcript", "client_message")
    return sum(handled[kind] - before[kind] for kind in kinds)


async def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def cpu_seconds(processes: dict[str, psutil.Process]) -> dict[str, float]:
    times = {name: process.cpu_times() for name, process in processes.items()}
    return {name: t.user + t.system for name, t in times.items()}


def machine_share(before: Any, after: Any) -> tuple[float, float]:
    """Busy and stolen shares of all CPUs between two ``psutil.cpu_times()``."""
    spent = {name: getattr(after, name) - getattr(before, name) for name in after._fields}
    total = sum(spent.values()) - spent.get("guest", 0.0) - spent.get("guest_nice", 0.0)
    busy = total - spent["idle"] - spent.get("iowait", 0.0) - spent.get("steal", 0.0)
    return busy / max(total, 1e-9), spent.get("steal", 0.0) / max(total, 1e-9)


def bounded_sizes(app: DispatchApp) -> dict[str, str]:
    """Sizes of what the console keeps, against their caps."""
    state = app.state
    chat = app.main.query_one(ChatLog)
    longest = max((len(call.lines) for call in state.calls.values()), default=0)
    sizes = {
        f"room {room.name} lines": f"{len(room.lines)}/{room.lines.maxlen}"
        for room in state.rooms.values()
    }
    sizes["chat widget lines"] = f"{len(chat.lines)}/{chat.max_lines}"
    sizes["calls"] = f"{len(state.calls)}/{state.max_calls}"
    sizes["longest call lines"] = f"{longest}/{state.max_lines}"
    sizes["advice"] = f"{len(state.advice)}/{state.max_calls * 2}"
    sizes["rooms"] = f"{len(state.rooms)}/{state.max_rooms}"
    sizes["toasts"] = str(len(app._notifications))
    return sizes


async def drive_console(
    url: str, args: argparse.Namespace, pipe: Connection, pids: dict[str, int]
) -> Run:
    """Idle reference, then the load, with the probe typing throughout."""
    client = DispatchClient(url, name="Dispatcher bench", reconnect=True)
    app = DispatchApp(client, ConsoleSettings(rooms=ROOMS, max_lines=args.max_lines))
    handled = count_handled(app)
    samples: list[Sample] = []
    processes = {name: psutil.Process(pid) for name, pid in pids.items()}
    collections = GcPauses()
    # Notifications on: priority-1 advice raises toasts, as in a real console.
    async with app.run_test(size=SIZE, notifications=True):
        ready = await wait_for(
            lambda: (
                app.link is LinkState.CONNECTED
                and app.state.selected == ROOMS[0]
                and all(name in app.state.rooms and app.state.rooms[name].joined for name in ROOMS)
            ),
            STARTUP_TIMEOUT,
        )
        if not ready:
            raise RuntimeError(f"the console did not connect and join {ROOMS}")
        message = app.main.query_one("#message", Input)
        if app.focused is not message:
            raise RuntimeError(f"the message input has no focus ({app.focused!r} has)")
        probe = Probe(app, message)
        sampler = asyncio.create_task(sample_every_second(app, samples))
        await asyncio.sleep(SETTLE_SECONDS)

        idle_started, cpu_idle = time.perf_counter(), cpu_seconds(processes)
        machine_idle = psutil.cpu_times()
        probe.start("idle")
        collections.phase = "idle"
        await asyncio.sleep(args.idle)
        await probe.pause()
        idle_cpu = cpu_seconds(processes)["console"] - cpu_idle["console"]
        idle_seconds = time.perf_counter() - idle_started
        machine = {"idle": machine_share(machine_idle, psutil.cpu_times())}

        cpu_before, machine_load = cpu_seconds(processes), psutil.cpu_times()
        handled_before = handled.copy()
        load_started = time.perf_counter()
        pipe.send("go")
        probe.start("load")
        collections.phase = "load"
        report_within = 3 * args.duration + 3 * ACK_TIMEOUT
        generator: dict[str, Any] = await asyncio.to_thread(receive, pipe, report_within)
        probe.phase = None
        collections.phase = "after"
        load_seconds = time.perf_counter() - load_started
        handled_during = handled.copy()
        cpu_after = cpu_seconds(processes)
        machine["load"] = machine_share(machine_load, psutil.cpu_times())

        catch_up: float | None = None
        if "error" not in generator:
            expected = generator["transcripts_acked"] - generator["merged"]
            expected += generator["chat_acked"]
            caught_up = await wait_for(
                lambda: delivered(handled, handled_before) >= expected, CATCH_UP_TIMEOUT
            )
            if caught_up:
                catch_up = time.perf_counter() - load_started - load_seconds
        await probe.stop()
        with contextlib.suppress(OSError):
            pipe.send("done")
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
        bounded = bounded_sizes(app)
        bells = app.bells
    collections.close()
    cpu = {name: (cpu_after[name] - cpu_before[name]) / load_seconds for name in cpu_before}
    cpu["console idle"] = idle_cpu / idle_seconds
    return Run(
        probe,
        samples,
        handled_before,
        handled_during,
        load_started,
        load_seconds,
        catch_up,
        generator,
        cpu,
        machine,
        bounded,
        bells,
        collections,
    )


def percentile(samples: list[float], share: float) -> float:
    """Nearest-rank percentile of sorted samples (NaN when there are none)."""
    if not samples:
        return float("nan")
    return samples[min(len(samples) - 1, int(len(samples) * share))]


def latency_rows(probe: Probe) -> list[str]:
    idle, load = probe.latencies("idle"), probe.latencies("load")
    shares = {"p50": 0.5, "p90": 0.9, "p99": 0.99, "max": 1.0}
    rows = [f"{'keystroke to screen, ms':<26}{'drawn':>7}{'never':>7}"]
    rows[0] += "".join(f"{name:>9}" for name in shares)
    for label, phase, values in (("idle (reference)", "idle", idle), ("under load", "load", load)):
        row = f"{label:<26}{len(probe.samples[phase]):>7}{probe.undrawn[phase]:>7}"
        rows.append(row + "".join(f"{percentile(values, q) * 1000:>9.1f}" for q in shares.values()))
    ratios = "".join(
        f"{percentile(load, q) / max(percentile(idle, q), 1e-9):>8.2f}x" for q in shares.values()
    )
    rows.append(f"{'ratio load / idle':<40}{ratios}")
    p99 = percentile(load, 0.99) * 1000
    verdict = "under" if p99 < TARGET_P99_MS else "NOT under"
    ratio = percentile(load, 0.99) / max(percentile(idle, 0.99), 1e-9)
    within = "within" if ratio <= TARGET_P99_RATIO else "NOT within"
    rows.append(
        f"p99 under load {p99:.1f} ms: {verdict} the issue's {TARGET_P99_MS:.0f} ms, and "
        f"{ratio:.2f}x idle: {within} its {TARGET_P99_RATIO:g}x "
        f"('never': not drawn {PROBE_TIMEOUT:g} s after the phase, counted as infinite)"
    )
    return rows


def memory_rows(run: Run, duration: float) -> list[str]:
    load_end = run.load_started + run.load_seconds
    before = [s for s in run.samples if s.at < run.load_started]
    during = [s for s in run.samples if run.load_started <= s.at <= load_end]
    filled_at = run.load_started + duration / 3
    after_filled = [s for s in during if s.at >= filled_at]
    if not before or not after_filled:
        return ["memory: too few samples (the load was too short)"]
    idle, filled, end = before[-1], after_filled[0], after_filled[-1]
    peak = max(s.rss for s in after_filled)
    rows = [
        "RSS of the console process, MiB: "
        f"idle {idle.rss / MIB:.1f}, panes filled (+{filled.at - run.load_started:.0f} s) "
        f"{filled.rss / MIB:.1f}, end of load (+{end.at - run.load_started:.0f} s) "
        f"{end.rss / MIB:.1f}, peak after filled {peak / MIB:.1f}",
        f"growth after filled {(end.rss - filled.rss) / MIB:+.1f} MiB; "
        f"end / filled = {end.rss / filled.rss:.3f} (flat: 1.0); "
        f"end / idle = {end.rss / idle.rss:.3f}",
        f"widgets on the main screen: idle {idle.widgets}, filled {filled.widgets}, "
        f"end {end.widgets}; client queue of unhandled events: max "
        f"{max(s.backlog for s in during)} during the load",
        "bounded: " + ", ".join(f"{name} {size}" for name, size in run.bounded.items()),
    ]
    return rows


def report(run: Run, args: argparse.Namespace) -> None:
    gen = run.generator
    if "error" in gen:
        print(f"the generator failed: {gen['error']}")
        return
    sending = gen["sending_seconds"]
    acked = gen["transcripts_acked"] + gen["chat_acked"]
    print(
        f"load: {gen['sent']} requests in {sending:.1f} s ({gen['sent'] / sending:.0f}/s of "
        f"{args.rate:g}/s asked) over {args.connections} connections; relay acknowledged "
        f"{acked} ({acked / gen['acked_seconds']:.0f}/s), errors {gen['errors']}, "
        f"held back {gen['throttled_ticks']} ticks; {gen['suggestions']} ai_suggestion"
    )
    if gen["first_error"]:
        print(f"  first error: {gen['first_error']}")
    if gen["unsent"] or gen["unanswered"]:
        print(
            f"  the relay fell behind: {gen['unsent']} requests never sent, "
            f"{gen['unanswered']} sent but not answered within {ACK_TIMEOUT:g} s"
        )
    during = run.handled_during - run.handled_before
    kinds = ", ".join(f"{kind} {count}" for kind, count in during.most_common())
    print(
        f"console: handled {sum(during.values())} events during the load "
        f"({sum(during.values()) / run.load_seconds:.0f}/s: {kinds}); P1 alarms {run.bells}"
    )
    if run.catch_up is None:
        print(f"  did NOT handle everything the relay accepted within {CATCH_UP_TIMEOUT:g} s")
    else:
        print(f"  handled everything the relay accepted {run.catch_up:.2f} s after its last ack")
    print()
    for row in latency_rows(run.probe):
        print(row)
    print()
    for row in memory_rows(run, args.duration):
        print(row)
    print()
    cpu = dict(run.cpu)
    idle = cpu.pop("console idle")
    shares = ", ".join(f"{name} {share:.2f}" for name, share in cpu.items())
    print(
        f"CPU in cores ({psutil.cpu_count()} CPUs): console idle {idle:.2f}; under load {shares}; "
        f"console load / idle {cpu['console'] / max(idle, 1e-9):.1f}x"
    )
    phases = "; ".join(
        f"{phase} phase busy {busy:.0%}, stolen {stolen:.0%}"
        for phase, (busy, stolen) in run.machine.items()
    )
    print(
        "garbage collections in the console (they stall keys too): "
        + "; ".join(run.collections.summary(phase) for phase in ("idle", "load"))
    )
    load1, load5, _ = psutil.getloadavg()
    print(f"machine, all CPUs: {phases}; load average {load1:.1f} (1 min), {load5:.1f} (5 min)")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rate", type=float, default=500.0, help="requests/s to the relay")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle reference")
    parser.add_argument("--max-lines", type=int, default=500, help="console lines per pane")
    parser.add_argument(
        "--connections",
        type=int,
        default=0,
        help=f"generator connections (default: one per {PER_CONNECTION:g} requests/s)",
    )
    args = parser.parse_args()
    args.connections = args.connections or max(1, math.ceil(args.rate / PER_CONNECTION))
    return args


def stop_on_sigterm(signum: int, frame: object) -> None:
    """``timeout`` and friends send SIGTERM: unwind, so the relay subprocess is stopped too."""
    raise SystemExit(128 + signum)


def main() -> None:
    args = parse_args()
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    print(
        f"console under load: {args.rate:g} requests/s for {args.duration:g} s after "
        f"{args.idle:g} s idle; max lines {args.max_lines}, size {SIZE[0]}x{SIZE[1]}, "
        f"probe every {PROBE_INTERVAL * 1000:.0f} ms",
        flush=True,
    )
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as folder:
        relay = RelayProcess(Path(folder)).start()
        ours, theirs = context.Pipe()
        generator = context.Process(
            target=run_generator,
            args=(relay.url, args.rate, args.duration, args.connections, theirs),
            daemon=True,
        )
        try:
            generator.start()
            theirs.close()  # so that a generator that dies shows as EOF here
            hello = receive(ours, STARTUP_TIMEOUT)
            if hello != "ready":
                raise RuntimeError(f"the generator did not start: {hello}")
            assert relay.process is not None and generator.pid is not None
            pids = {
                "console": psutil.Process().pid,
                "relay": relay.process.pid,
                "generator": generator.pid,
            }
            run = asyncio.run(drive_console(relay.url, args, ours, pids))
        finally:
            if generator.pid is not None:
                generator.join(10)
                if generator.is_alive():
                    generator.terminate()
                    generator.join(10)
            relay.stop()
        report(run, args)
        warnings = relay.warnings()
        if warnings:
            print(f"relay log: {len(warnings)} warnings or errors, first: {warnings[0]}")


if __name__ == "__main__":
    main()
