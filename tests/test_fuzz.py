"""Fuzzing a live relay with thousands of arbitrary frames.

Whatever a client sends, the relay must answer with well-formed events and documented
error codes, close (if at all) with a documented code, and keep serving everyone else.
Hypothesis drives a sync test; the relay runs on its own event loop in a background
thread, so one relay (and its journal) lives through every example.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from dispatch_tui.server.relay import Relay, RelaySettings
from tests.conftest import client, recv_event, recv_json, request

EVENTS = [
    "send_to_all",
    "join_room",
    "send_to_room",
    "leave_room",
    "list_rooms",
    "list_clients",
    "identify",
    "history",
    "publish_transcript",
    "auth",
]
ERROR_CODES = {
    "bad_json",
    "bad_message",
    "unknown_event",
    "invalid_data",
    "forbidden",
    "rate_limited",
    "not_found",
}
CLOSE_CODES = {1000, 1001, 1003, 1008, 1009, 1013}
#: The relay's direct answers: exactly one per request frame.
REPLIES = {
    "error",
    "sent",
    "room_joined",
    "room_left",
    "rooms_list",
    "clients_list",
    "identified",
    "history",
}
ROOMS = ["ops", "fire", "ems", "police", "r" * 64]
FIELDS = [
    "room_name",
    "message",
    "name",
    "since",
    "limit",
    "call_id",
    "text",
    "is_final",
    "speaker",
    "segment_id",
    "token",
]
MAX_FRAME_BYTES = 65536
EXAMPLES = 35
TIMEOUT = 30.0


# --- strategies -----------------------------------------------------------------------

json_leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)


def nested_json(depth: int) -> st.SearchStrategy[Any]:
    """JSON values nested up to ``depth`` levels (cheaper to draw than ``st.recursive``)."""
    if depth == 0:
        return json_leaves
    children = nested_json(depth - 1)
    return (
        json_leaves
        | st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=12), children, max_size=4)
    )


json_values = nested_json(3)
field_values = st.one_of(
    st.sampled_from(ROOMS),
    st.integers(min_value=-5, max_value=2000),
    st.booleans(),
    st.text(max_size=80),
    nested_json(1),
)
plausible_data = st.dictionaries(st.sampled_from(FIELDS), field_values, max_size=4)
request_ids = st.one_of(st.text(max_size=80), st.integers(), json_values)
event_objects = st.fixed_dictionaries(
    {"event": st.sampled_from(EVENTS) | st.text(max_size=20)},
    optional={"data": plausible_data | json_values, "id": request_ids},
)
odd_objects = st.fixed_dictionaries(
    {"event": nested_json(1)}, optional={"data": nested_json(2), "id": nested_json(1)}
)
room_names = st.sampled_from(ROOMS) | st.text(min_size=1, max_size=64)
short_ids = st.text(max_size=64) | st.integers()
#: Requests that are mostly valid, so that handlers (not only the parser) get exercised.
VALID_DATA: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "send_to_all": st.fixed_dictionaries({"message": json_values}),
    "join_room": st.fixed_dictionaries({"room_name": room_names}),
    "send_to_room": st.fixed_dictionaries({"room_name": room_names, "message": json_values}),
    "leave_room": st.fixed_dictionaries({}, optional={"room_name": room_names}),
    "list_rooms": st.just({}),
    "list_clients": st.fixed_dictionaries({}, optional={"room_name": room_names}),
    "identify": st.fixed_dictionaries({"name": st.text(min_size=1, max_size=64)}),
    "history": st.fixed_dictionaries(
        {},
        optional={
            "room_name": room_names,
            "since": st.integers(min_value=0, max_value=10_000),
            "limit": st.integers(min_value=1, max_value=1000),
        },
    ),
    "publish_transcript": st.fixed_dictionaries(
        {
            "call_id": st.sampled_from(["c1", "c2", "c3"]) | st.text(min_size=1, max_size=20),
            "text": st.text(max_size=200),
            "is_final": st.booleans(),
        },
        optional={"speaker": st.text(max_size=64), "segment_id": st.text(max_size=20)},
    ),
    "auth": st.fixed_dictionaries({"token": st.text(min_size=1, max_size=50)}),
}
valid_requests = st.one_of(
    *(
        st.fixed_dictionaries({"event": st.just(event), "data": data}, optional={"id": short_ids})
        for event, data in VALID_DATA.items()
    )
)


def encode(value: Any, ascii_only: bool) -> str:
    return json.dumps(value, ensure_ascii=ascii_only)


def is_json(text: str) -> bool:
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


def under_limit(text: str, limit: int = MAX_FRAME_BYTES - 1024) -> str:
    """Cut ``text`` to fewer than ``limit`` UTF-8 bytes, so it is not refused for size."""
    return text.encode()[:limit].decode(errors="ignore")


# Any text but lone surrogates (which UTF-8 cannot carry); control characters included.
any_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=200)
huge_text = st.builds(
    lambda piece, count: under_limit(piece * count),
    st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=16),
    st.integers(min_value=100, max_value=20_000),
)
truncated_json = st.builds(
    lambda value, cut: encode(value, True)[: max(1, cut)],
    st.fixed_dictionaries({"event": st.sampled_from(EVENTS)}, optional={"data": plausible_data}),
    st.integers(min_value=1, max_value=200),
)
not_json_text = (any_text | huge_text | truncated_json).map(
    lambda text: text + "}" if is_json(text) else text
)


@st.composite
def batches(draw: st.DrawFn) -> list[str]:
    """60 to 100 frames: about half mostly valid requests, the rest odd, non-object or not JSON.

    Drawn as one list per kind and shuffled, because ``one_of`` would favour the simplest kinds.
    """
    kinds = [
        (st.builds(encode, valid_requests, st.booleans()), 30, 45),
        (st.builds(encode, event_objects, st.booleans()), 12, 20),
        (st.builds(encode, odd_objects, st.booleans()), 6, 10),
        (st.builds(encode, json_values, st.booleans()), 6, 10),
        (not_json_text, 6, 15),
    ]
    batch = [
        frame
        for kind, low, high in kinds
        for frame in draw(st.lists(kind, min_size=low, max_size=high))
    ]
    draw(st.randoms(use_true_random=False)).shuffle(batch)
    return batch


# --- a relay on its own thread ----------------------------------------------------------


class RelayThread:
    """A relay on a private event loop in a daemon thread, driven from sync test code."""

    def __init__(self, db: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fuzz-relay", daemon=True)
        self.relay = Relay(RelaySettings(port=0, db=str(db)))

    def call(self, work: Any, timeout: float = TIMEOUT) -> Any:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout)

    def start(self) -> None:
        self.thread.start()
        self.call(self.relay.start())

    def stop(self) -> None:
        try:
            self.call(self.relay.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(TIMEOUT)
            self.loop.close()

    def health(self) -> dict[str, Any]:
        """``GET /healthz``: proves the relay still accepts and answers connections."""
        connection = http.client.HTTPConnection("127.0.0.1", self.relay.port, timeout=TIMEOUT)
        try:
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            assert response.status == 200
            return dict(json.loads(response.read()))
        finally:
            connection.close()


class Failures(logging.Handler):
    """Collects ERROR records (e.g. "connection handler failed") while the fuzz runs."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def relay_thread(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RelayThread]:
    server = RelayThread(tmp_path_factory.mktemp("fuzz") / "journal.sqlite3")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def failures() -> Iterator[Failures]:
    handler = Failures()
    loggers = [logging.getLogger("websockets"), logging.getLogger("dispatch_tui")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


# --- what every frame from the relay must look like ---------------------------------------


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def check_frame(raw: str | bytes) -> dict[str, Any]:
    """One frame from the relay: strict JSON, an object, a string event, a dict data."""
    assert isinstance(raw, str), f"binary frame from the relay: {raw!r:.200}"
    message = json.loads(raw, parse_constant=_refuse_constant)
    assert isinstance(message, dict), raw[:200]
    assert isinstance(message.get("event"), str), raw[:200]
    if "data" in message:
        assert isinstance(message["data"], dict), raw[:200]
    if message["event"] == "error":
        error = message["data"]
        assert error["code"] in ERROR_CODES, raw[:200]
        assert isinstance(error["message"], str), raw[:200]
        assert isinstance(error.get("event", ""), str), raw[:200]
    return message


def valid_id(frame: str) -> str | int | None:
    """The ``id`` the relay should echo for ``frame``, if it carries a valid one."""
    try:
        value = json.loads(frame)
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, dict):
        return None
    request_id = value.get("id")
    if isinstance(request_id, bool) or not isinstance(request_id, str | int):
        return None
    if isinstance(request_id, str) and len(request_id) > 64:
        return None
    return request_id


# --- throwing frames ----------------------------------------------------------------------


@dataclass
class Tally:
    """What the fuzz threw and what came back, over every example."""

    frames: int = 0
    replies: int = 0
    connections: int = 0
    closes: dict[int, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)


async def read_checked(ws: ClientConnection, tally: Tally, ids: set[str | int]) -> None:
    """Reads until the connection ends, checking every frame; counts direct replies."""
    try:
        async for raw in ws:
            message = check_frame(raw)
            if message["event"] == "error":
                code = message["data"]["code"]
                tally.errors[code] = tally.errors.get(code, 0) + 1
            if message["event"] in REPLIES:
                tally.replies += 1
                if "id" in message:
                    assert message["id"] in ids, f"reply with an id never sent: {raw!r:.200}"
    except ConnectionClosed:
        pass


def close_code(ws: ClientConnection) -> int | None:
    """The code the relay closed with, or None if it did not send a close frame."""
    received = ws.protocol.close_rcvd
    return None if received is None else received.code


async def throw_once(url: str, batch: list[str], tally: Tally) -> list[str]:
    """Sends ``batch`` on one connection; returns what is left if the relay closed it."""
    tally.connections += 1
    async with connect(url, max_size=None, compression=None, open_timeout=TIMEOUT) as ws:
        welcome = check_frame(await asyncio.wait_for(ws.recv(), TIMEOUT))
        assert welcome["event"] == "welcome"
        ids: set[str | int] = set()
        before = tally.replies
        reading = asyncio.create_task(read_checked(ws, tally, ids))
        sent = 0
        try:
            for frame in batch:
                request_id = valid_id(frame)
                if request_id is not None:
                    ids.add(request_id)
                await ws.send(frame)
                sent += 1
        except ConnectionClosed:
            pass
        tally.frames += sent
        # Every request gets exactly one direct answer, unless the relay closes first.
        async with asyncio.timeout(TIMEOUT):
            while tally.replies - before < sent and not reading.done():
                await asyncio.sleep(0.01)
        if reading.done():
            reading.result()  # re-raises a failed check
            code = close_code(ws)
            assert code in CLOSE_CODES, f"relay closed with {code} {ws.close_reason!r}"
            tally.closes[code] = tally.closes.get(code, 0) + 1
            return batch[sent:]
        assert tally.replies - before == sent
        reading.cancel()
        return []


async def throw(url: str, batch: list[str], tally: Tally) -> None:
    """Sends all of ``batch``, reconnecting whenever the relay closes the connection."""
    rest = batch
    for _ in range(len(batch) + 1):
        if not rest:
            return
        rest = await throw_once(url, rest, tally)
    raise AssertionError("the relay closed every connection before it took a frame")


async def exchange(url: str, room: str = "after-fuzz") -> None:
    """Two fresh clients join a room and one's message reaches the other."""
    async with client(url) as a, client(url) as b:
        for ws in (a, b):
            await request(ws, "join_room", {"room_name": room})
            assert (await recv_event(ws, "room_joined"))["data"]["room_name"] == room
        await request(a, "send_to_room", {"room_name": room, "message": "still serving"}, id="s")
        delivered = await recv_event(b, "client_message")
        assert (delivered["data"]["message"], delivered["data"]["room"]) == ("still serving", room)
        assert (await recv_event(a, "sent"))["id"] == "s"


async def fuzz_example(url: str, batch: list[str], tally: Tally) -> None:
    """One batch, watched by a bystander in every room that must stay connected."""
    async with client(url, max_size=None, compression=None) as bystander:
        for room in ROOMS:
            await request(bystander, "join_room", {"room_name": room})
            await recv_event(bystander, "room_joined")
        watching = asyncio.create_task(read_checked(bystander, Tally(), set()))
        await throw(url, batch, tally)
        if watching.done():
            watching.result()  # re-raises a failed check
            raise AssertionError(f"the bystander was closed with {close_code(bystander)}")
        watching.cancel()
    await exchange(url)


def wait_for_no_clients(server: RelayThread) -> None:
    """Polls ``/healthz`` until every fuzz connection has been forgotten by the hub."""
    deadline = time.monotonic() + TIMEOUT
    while (clients := server.health()["clients"]) != 0:
        assert time.monotonic() < deadline, f"{clients} sessions left behind"
        time.sleep(0.05)


# --- the tests ----------------------------------------------------------------------------


def test_relay_survives_thousands_of_arbitrary_frames(
    relay_thread: RelayThread, failures: Failures
) -> None:
    """Random, malformed and nearly valid requests never break the relay or its protocol."""
    tally = Tally()
    url = relay_thread.relay.url

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )
    @given(batch=batches())
    def run(batch: list[str]) -> None:
        asyncio.run(fuzz_example(url, batch, tally))
        assert relay_thread.thread.is_alive()
        assert relay_thread.health()["status"] == "ok"
        assert not failures.records, [r.getMessage() for r in failures.records]

    run()
    assert tally.frames >= 2000, tally
    # Every kind of refusal was exercised, and nothing was left behind.
    assert {"bad_json", "bad_message", "unknown_event", "invalid_data"} <= set(tally.errors)
    wait_for_no_clients(relay_thread)


# --- bugs the fuzzing found, fixed in parse_request -----------------------------------


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
async def test_non_standard_json_constants_are_not_relayed(relay: Relay, constant: str) -> None:
    """One client must not be able to poison every browser's stream (and history) with NaN."""
    async with client(relay.url) as sender, client(relay.url) as receiver:
        await sender.send(
            '{"event": "send_to_all", "data": {"message": ' + constant + '}, "id": "odd"}'
        )
        await request(sender, "send_to_all", {"message": "marker"}, id="marker")
        while True:
            message = check_frame(await asyncio.wait_for(receiver.recv(), TIMEOUT))
            if message["event"] == "client_message" and message["data"]["message"] == "marker":
                break
        reply = await recv_json(sender)
        assert reply["id"] == "odd" and reply["event"] == "error"


async def test_deeply_nested_message_gets_an_answer_not_an_internal_error(relay: Relay) -> None:
    """Every nesting depth is either relayed or refused with an error; none kills the handler."""
    async with client(relay.url) as ws:
        for depth in range(700, 1001, 2):
            nested = "[" * depth + "]" * depth
            await ws.send('{"event": "send_to_all", "data": {"message": ' + nested + "}}")
            try:
                reply = await recv_json(ws)
            except ConnectionClosed as closed:
                code = None if closed.rcvd is None else closed.rcvd.code
                raise AssertionError(f"depth {depth}: connection closed with {code}") from None
            assert reply["event"] == "sent" or reply["data"]["code"] in ERROR_CODES
