"""Who has which call: ``claim_call``, ``acknowledge_advice`` and the escalation of P1 advice."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection

from dispatch_tui import events as ev
from dispatch_tui.cli.serve import relay_settings
from dispatch_tui.client import DispatchClient, LinkState
from dispatch_tui.protocol import Suggestion
from dispatch_tui.server.agents.rules import RulesAgent
from dispatch_tui.server.broker import Appended, BrokerUnavailable, Delivery, LocalBroker, Outgoing
from dispatch_tui.server.escalation import EscalationSettings, Escalator, escalation_text
from dispatch_tui.server.hub import Ack, Hub
from dispatch_tui.server.journal import MEMORY, Journal, JournalError
from dispatch_tui.server.pipeline import PipelineSettings
from dispatch_tui.server.relay import Relay, RelaySettings
from dispatch_tui.server.settings import SettingsError, load_settings
from tests.conftest import TIMEOUT, RelayProcess, client, local_address, recv_event, request
from tests.test_client import FAST, next_event
from tests.test_hub import RecordingOutbox
from tests.test_security import DISPATCHER_TOKEN, FIELD_TOKEN, auth_file, bearer

DESK = "dispatch_center"
COLLAPSE = "my husband collapsed and he is not breathing"

MakeRelay = Callable[..., AbstractAsyncContextManager[Relay]]


@pytest.fixture
def make_relay(tmp_path: Path) -> MakeRelay:
    """Relays with the rules agent and advice in ``DESK``; keywords go to RelaySettings."""
    count = 0

    @asynccontextmanager
    async def make(
        suggestions_room: str | None = DESK, agent: bool = True, **settings: Any
    ) -> AsyncIterator[Relay]:
        nonlocal count
        count += 1
        relay = Relay(
            RelaySettings(port=0, db=str(tmp_path / f"journal-{count}.sqlite3"), **settings),
            agent=RulesAgent() if agent else None,
            pipeline=PipelineSettings(idle_gap=0.05, suggestions_room=suggestions_room),
        )
        await relay.start()
        try:
            yield relay
        finally:
            await relay.stop()

    return make


async def join(ws: ClientConnection, room: str) -> None:
    await request(ws, "join_room", {"room_name": room})
    await recv_event(ws, "room_joined")


async def identify(ws: ClientConnection, name: str) -> str:
    """Sets the name; returns the client id."""
    await request(ws, "identify", {"name": name})
    return str((await recv_event(ws, "identified"))["data"]["client_id"])


async def none_of(ws: ClientConnection, events: set[str], wait: float) -> None:
    """Reads for ``wait`` seconds and fails on any frame of ``events``."""
    try:
        async with asyncio.timeout(wait):
            while True:
                message = json.loads(await ws.recv())
                assert message["event"] not in events, message
    except TimeoutError:
        pass


async def nothing_more(ws: ClientConnection, events: set[str]) -> None:
    """Everything the relay sent before a probe's answer holds none of ``events``."""
    await request(ws, "list_rooms", id="probe")
    async with asyncio.timeout(TIMEOUT):
        while True:
            message = json.loads(await ws.recv())
            assert message["event"] not in events, message
            if message.get("id") == "probe":
                return


async def until_state(console: DispatchClient, state: LinkState) -> None:
    async with asyncio.timeout(TIMEOUT):
        while console.state is not state:
            await asyncio.sleep(0.01)


async def publish(ws: ClientConnection, call_id: str, text: str) -> None:
    data = {"call_id": call_id, "text": text, "is_final": True, "speaker": "caller"}
    await request(ws, "publish_transcript", data)
    await recv_event(ws, "sent")


async def p1_advice(ws: ClientConnection, call_id: str) -> dict[str, Any]:
    """The next P1 ``ai_suggestion`` data for ``call_id``."""
    async with asyncio.timeout(30):
        while True:
            event = await recv_event(ws, "ai_suggestion", 30)
            data = event["data"]
            if data["call_id"] == call_id and data["suggestion"]["priority"] == 1:
                return data  # type: ignore[no-any-return]


# -- claims and acknowledgements through a relay ---------------------------------------------


async def test_a_claim_reaches_the_whole_calls_room_the_sender_too_and_stays_in_history(
    make_relay: MakeRelay,
) -> None:
    async with (
        make_relay(agent=False) as relay,
        client(relay.url) as sender,
        client(relay.url) as colleague,
        client(relay.url) as outsider,
    ):
        await join(sender, DESK)
        await join(colleague, DESK)
        client_id = await identify(sender, "Dispatcher 1")
        await request(sender, "claim_call", {"call_id": "call-7"}, id="c1")
        own = await recv_event(sender, "call_claimed")
        sent = await recv_event(sender, "sent")
        seen = await recv_event(colleague, "call_claimed")
        data = own["data"]
        assert seen["data"] == data
        fields = ["call_id", "claimed", "name", "client_id", "from", "room", "seq", "ts"]
        assert list(data) == fields
        assert data["call_id"] == "call-7" and data["claimed"] is True
        assert data["name"] == "Dispatcher 1" and data["client_id"] == client_id
        assert data["from"] == local_address(sender) and data["room"] == DESK
        assert isinstance(data["ts"], str)
        assert sent["id"] == "c1"
        assert sent["data"] == {"recipients": 2, "seq": data["seq"], "room": DESK}
        await nothing_more(outsider, {"call_claimed"})

        await request(sender, "claim_call", {"call_id": "call-7", "release": True}, id="c2")
        released = (await recv_event(colleague, "call_claimed"))["data"]
        assert released["claimed"] is False and released["seq"] > data["seq"]
        assert (await recv_event(sender, "sent"))["id"] == "c2"

        async with client(relay.url) as again:
            await request(again, "history", {"room_name": DESK}, id="h")
            history = await recv_event(again, "history")
        claims = [m["data"] for m in history["data"]["messages"] if m["event"] == "call_claimed"]
        assert claims == [data, released]


async def test_an_acknowledgement_without_a_suggestions_room_reaches_every_client(
    make_relay: MakeRelay,
) -> None:
    async with (
        make_relay(suggestions_room=None, agent=False) as relay,
        client(relay.url) as sender,
        client(relay.url) as other,
    ):
        client_id = await identify(sender, "Dispatcher 2")
        await request(sender, "acknowledge_advice", {"call_id": "call-9", "advice_seq": 4}, id=5)
        own = (await recv_event(sender, "advice_acknowledged"))["data"]
        sent = await recv_event(sender, "sent")
        assert (await recv_event(other, "advice_acknowledged"))["data"] == own
        fields = ["call_id", "advice_seq", "name", "client_id", "from", "room", "seq", "ts"]
        assert list(own) == fields
        assert own["call_id"] == "call-9" and own["advice_seq"] == 4
        assert own["name"] == "Dispatcher 2" and own["client_id"] == client_id
        assert own["from"] == local_address(sender) and own["room"] is None
        assert sent["id"] == 5 and sent["data"] == {"recipients": 2, "seq": own["seq"]}

        await request(other, "acknowledge_advice", {"call_id": "call-9"})
        unnumbered = (await recv_event(sender, "advice_acknowledged"))["data"]
        assert unnumbered["advice_seq"] is None and unnumbered["name"] is None

        async with client(relay.url) as again:
            await request(again, "history")
            history = await recv_event(again, "history")
        acks = [
            m["data"] for m in history["data"]["messages"] if m["event"] == "advice_acknowledged"
        ]
        assert acks == [own, unnumbered]


async def test_a_console_back_from_a_lost_connection_gets_what_it_missed_once(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "journal.sqlite3")
    pipeline = PipelineSettings(suggestions_room=DESK)
    relay = Relay(RelaySettings(port=0, db=db), pipeline=pipeline)
    await relay.start()
    port = relay.port
    console = DispatchClient(relay.url, name="console", reconnect=True, backoff=FAST)
    await console.connect()
    try:
        await console.join(DESK)
        async with client(relay.url) as colleague:
            await request(colleague, "claim_call", {"call_id": "c1"})
            await recv_event(colleague, "sent")
        seen = await next_event(console, "call_claimed")
        await relay.stop()
        await until_state(console, LinkState.RECONNECTING)
        relay = Relay(RelaySettings(port=port, db=db), pipeline=pipeline)
        await relay.start()
        async with client(relay.url) as colleague:
            await request(colleague, "acknowledge_advice", {"call_id": "c1"})
            await recv_event(colleague, "sent")
            await request(colleague, "claim_call", {"call_id": "c1", "release": True})
            await recv_event(colleague, "sent")
        await until_state(console, LinkState.RECOVERED)
        await console.request("claim_call", {"call_id": "c2"})
        got: list[tuple[str, int]] = []
        async with asyncio.timeout(TIMEOUT):
            async for message in console.events():
                if message["event"] in {"call_claimed", "advice_acknowledged"}:
                    got.append((message["event"], message["data"]["seq"]))
                    if message["data"]["call_id"] == "c2":
                        break
        first = seen["data"]["seq"]
        assert got == [
            ("advice_acknowledged", first + 1),
            ("call_claimed", first + 2),
            ("call_claimed", first + 3),
        ], "what was missed came once, and nothing seen before came again"
    finally:
        await console.close()
        await relay.stop()


@pytest.mark.parametrize(
    ("event", "data"),
    [
        ("claim_call", {}),
        ("claim_call", {"call_id": ""}),
        ("claim_call", {"call_id": "x" * 129}),
        ("claim_call", {"call_id": "c1", "release": "yes"}),
        ("acknowledge_advice", {"advice_seq": 3}),
        ("acknowledge_advice", {"call_id": ""}),
        ("acknowledge_advice", {"call_id": "c1", "advice_seq": "3"}),
        ("acknowledge_advice", None),
    ],
)
async def test_a_bad_request_is_invalid_data_with_its_id_and_is_not_relayed(
    make_relay: MakeRelay, event: str, data: dict[str, Any] | None
) -> None:
    async with make_relay(agent=False) as relay, client(relay.url) as ws:
        await join(ws, DESK)
        await request(ws, event, data, id="bad")
        error = await recv_event(ws, "error")
        assert error["id"] == "bad"
        assert error["data"]["code"] == "invalid_data" and error["data"]["event"] == event
        await nothing_more(ws, {"call_claimed", "advice_acknowledged", "sent"})


async def test_a_role_kept_out_of_the_suggestions_room_may_not_claim_or_acknowledge(
    make_relay: MakeRelay, tmp_path: Path
) -> None:
    auth = str(auth_file(tmp_path / "auth.toml"))
    async with (
        make_relay(agent=False, auth_file=auth) as relay,
        client(relay.url, **bearer(DISPATCHER_TOKEN)) as dispatcher,
        client(relay.url, **bearer(FIELD_TOKEN)) as field,
    ):
        await join(dispatcher, DESK)
        for number, event in enumerate(("claim_call", "acknowledge_advice")):
            await request(field, event, {"call_id": "call-1"}, id=number)
            error = await recv_event(field, "error")
            assert error["id"] == number and error["data"]["code"] == "forbidden"
        await nothing_more(dispatcher, {"call_claimed", "advice_acknowledged"})
        await request(dispatcher, "claim_call", {"call_id": "call-1"}, id="ok")
        claim = (await recv_event(dispatcher, "call_claimed"))["data"]
        assert claim["name"] == "Dispatcher 3"
        assert (await recv_event(dispatcher, "sent"))["id"] == "ok"


# -- escalation through a relay ---------------------------------------------------------------


@asynccontextmanager
async def escalation_floor(
    make_relay: MakeRelay, escalate_after: float
) -> AsyncIterator[tuple[Relay, ClientConnection, ClientConnection, ClientConnection]]:
    """A relay, a call source, a desk in ``DESK`` and a supervisor in ``supervisors``."""
    async with (
        make_relay(escalate_after=escalate_after) as relay,
        client(relay.url) as source,
        client(relay.url) as desk,
        client(relay.url) as supervisor,
    ):
        await join(desk, DESK)
        await join(supervisor, "supervisors")
        yield relay, source, desk, supervisor


async def test_unacknowledged_p1_advice_is_escalated_to_the_room_and_the_supervisors(
    make_relay: MakeRelay,
) -> None:
    async with escalation_floor(make_relay, 0.3) as (relay, source, desk, supervisor):
        await publish(source, "call-1", COLLAPSE)
        advice = await p1_advice(desk, "call-1")
        escalated = (await recv_event(desk, "advice_escalated"))["data"]
        fields = ["call_id", "advice_seq", "priority", "incident_type", "location"]
        assert list(escalated) == [*fields, "after_seconds", "room", "seq", "ts"]
        assert escalated["call_id"] == "call-1" and escalated["advice_seq"] == advice["seq"]
        assert escalated["priority"] == 1 and escalated["after_seconds"] == 0.3
        assert escalated["incident_type"] == advice["suggestion"]["incident_type"]
        assert escalated["location"] == advice["suggestion"]["location"]
        assert escalated["room"] == DESK and escalated["seq"] > advice["seq"]

        notice = (await recv_event(supervisor, "client_message"))["data"]
        assert notice["name"] == "dispatch relay" and notice["client_id"] == "relay"
        assert notice["from"] == f"127.0.0.1:{relay.port}"
        assert notice["room"] == "supervisors"
        kind = advice["suggestion"]["incident_type"]
        assert notice["message"] == {
            "type": "escalation",
            "call_id": "call-1",
            "priority": 1,
            "incident_type": kind,
            "location": advice["suggestion"]["location"],
            "advice_seq": advice["seq"],
            "text": f"P1 {kind.replace('_', ' ')} on call-1 not acknowledged after 0.3 s",
        }
        # Once per call: more P1 advice for it escalates nothing more.
        await publish(source, "call-1", "he is turning blue, still not breathing, no pulse")
        assert (await p1_advice(desk, "call-1"))["seq"] > escalated["seq"]
        await none_of(supervisor, {"client_message"}, 1.5)
        await nothing_more(desk, {"advice_escalated"})


async def test_p1_advice_acknowledged_in_time_is_not_escalated(make_relay: MakeRelay) -> None:
    # Long enough for the acknowledgement to beat it on a busy machine.
    async with escalation_floor(make_relay, 2.0) as (_relay, source, desk, supervisor):
        await publish(source, "call-2", COLLAPSE)
        advice = await p1_advice(desk, "call-2")
        ack = {"call_id": "call-2", "advice_seq": advice["seq"]}
        await request(desk, "acknowledge_advice", ack, id="ack")
        await recv_event(desk, "sent")
        await none_of(supervisor, {"client_message"}, 3.0)
        await nothing_more(desk, {"advice_escalated"})


async def test_escalate_after_zero_never_escalates(make_relay: MakeRelay) -> None:
    async with escalation_floor(make_relay, 0.0) as (_relay, source, desk, supervisor):
        await publish(source, "call-3", COLLAPSE)
        await p1_advice(desk, "call-3")
        await none_of(supervisor, {"client_message"}, 1.5)
        await nothing_more(desk, {"advice_escalated"})


async def test_forgetting_an_idle_call_drops_its_escalation(tmp_path: Path) -> None:
    relay = Relay(
        RelaySettings(port=0, db=str(tmp_path / "journal.sqlite3"), escalate_after=30.0),
        agent=RulesAgent(),
        pipeline=PipelineSettings(idle_gap=0.05, forget_after=0.0),
    )
    await relay.start()
    try:
        assert relay.pipeline is not None and relay.escalator is not None
        async with client(relay.url) as source:
            await publish(source, "old-call", COLLAPSE)
            await p1_advice(source, "old-call")
            await relay.pipeline.drain()
            assert relay.escalator.pending("old-call")
            await publish(source, "new-call", "hello, there is a cat up a tree")
            assert not relay.escalator.pending("old-call")
            assert "old-call" not in relay.pipeline.calls
    finally:
        await relay.stop()


# -- on a cluster -----------------------------------------------------------------------------


async def test_on_a_cluster_an_acknowledgement_on_another_relay_stops_the_escalation(
    make_relay: MakeRelay, redis_url: str
) -> None:
    async with (
        # Long enough for a claim and an acknowledgement through Redis on a busy machine.
        make_relay(escalate_after=2.0, redis_url=redis_url) as first,
        make_relay(escalate_after=2.0, redis_url=redis_url) as second,
        client(first.url) as source,
        client(first.url) as supervisor,
        client(second.url) as desk,
    ):
        await join(desk, DESK)
        await join(supervisor, "supervisors")
        await publish(source, "call-4", COLLAPSE)
        advice = await p1_advice(desk, "call-4")
        # The sender's own copy comes back from the shared log, and before its ``sent``.
        await request(desk, "claim_call", {"call_id": "call-4"}, id="claim")
        assert (await recv_event(desk, "call_claimed"))["data"]["call_id"] == "call-4"
        assert (await recv_event(desk, "sent"))["id"] == "claim"
        ack = {"call_id": "call-4", "advice_seq": advice["seq"]}
        await request(desk, "acknowledge_advice", ack, id="ack")
        await recv_event(desk, "advice_acknowledged")
        assert (await recv_event(desk, "sent"))["id"] == "ack"
        await none_of(supervisor, {"client_message"}, 3.0)
        await nothing_more(desk, {"advice_escalated"})

        await publish(source, "call-5", COLLAPSE)
        await p1_advice(desk, "call-5")
        notice = (await recv_event(supervisor, "client_message"))["data"]
        assert notice["message"]["call_id"] == "call-5"
        assert (await recv_event(desk, "advice_escalated"))["data"]["call_id"] == "call-5"
        await none_of(supervisor, {"client_message"}, 1.0)


class LateLogBroker(LocalBroker):
    """A shared log whose entries come back only when the test hands them to the hub."""

    delivers = True

    def __init__(self, journal: Journal) -> None:
        super().__init__(journal)
        self.appended: list[Delivery] = []

    async def append(self, outgoing: Outgoing) -> Appended:
        appended = await super().append(outgoing)
        self.appended.append(appended.delivery)
        return appended


async def test_on_a_cluster_the_sent_of_a_claim_waits_for_the_senders_own_copy() -> None:
    journal = Journal(MEMORY)
    await asyncio.to_thread(journal.start, asyncio.get_running_loop())
    broker = LateLogBroker(journal)
    outbox = RecordingOutbox()
    hub = Hub(outbox, journal, broker)
    heard: list[tuple[str, int | None]] = []

    async def no_transcripts(segment: object, ack: object) -> bool:
        raise AssertionError("no transcript is published here")

    hub.take_calls(no_transcripts, lambda call_id, seq: heard.append((call_id, seq)))
    try:
        sender = hub.connect("10.0.0.1:1")
        for event in ("claim_call", "acknowledge_advice"):
            frame = {"event": event, "data": {"call_id": "c1"}, "id": event}
            await hub.handle(sender, json.dumps(frame))
        await journal.flush()  # the commit's callbacks have run by now
        assert not outbox.events(sender, "sent"), "committed, but the copies are not back yet"
        for delivery in broker.appended:
            hub.receive(delivery)
        frames = [f["event"] for f in outbox.frames[sender.client_id][2:]]
        assert frames == ["call_claimed", "sent", "advice_acknowledged", "sent"]
        assert heard == [("c1", None), ("c1", None)], "once when sent, once from the log"
    finally:
        journal.close()


# -- the escalator itself ---------------------------------------------------------------------


class FakeHub:
    """Records what is published; ``fail`` makes the next publishes raise."""

    def __init__(self) -> None:
        self.published: list[tuple[str, dict[str, Any], str | None]] = []
        self.fail: list[Exception] = []
        self.changed = asyncio.Event()

    async def publish(
        self,
        build: Callable[[int, str], ev.Event],
        *,
        room: str | None,
        exclude: str | None = None,
        ack: Ack | None = None,
    ) -> int:
        self.changed.set()
        if self.fail:
            raise self.fail.pop(0)
        seq = 100 + len(self.published)
        event = build(seq, "2024-01-01T00:00:00.000Z")
        self.published.append((event.event_name.value, event.data(), room))
        return seq

    async def until(self, count: int) -> None:
        async with asyncio.timeout(TIMEOUT):
            while len(self.published) < count:
                self.changed.clear()
                await self.changed.wait()


P1 = Suggestion(incident_type="cardiac_arrest", priority=1, location="12 Elm Street")
P2 = Suggestion(incident_type="fall", priority=2)
AFTER = 0.05


def escalator(hub: FakeHub, after: float = AFTER, room: str | None = DESK) -> Escalator:
    return Escalator(hub, EscalationSettings(after, "sups", room), address=lambda: "10.0.0.1:8765")


async def test_the_escalator_publishes_both_notices_once_the_timer_runs_out() -> None:
    hub = FakeHub()
    timing = escalator(hub)
    timing.advised("c1", 7, P1)
    assert timing.pending("c1")
    await hub.until(2)
    (event, data, room), (chat, message, sups) = hub.published
    assert (event, room, chat, sups) == ("advice_escalated", DESK, "client_message", "sups")
    assert data == {
        "call_id": "c1",
        "advice_seq": 7,
        "priority": 1,
        "incident_type": "cardiac_arrest",
        "location": "12 Elm Street",
        "after_seconds": AFTER,
        "room": DESK,
        "seq": 100,
        "ts": "2024-01-01T00:00:00.000Z",
    }
    assert message["from"] == "10.0.0.1:8765" and message["room"] == "sups"
    assert message["name"] == "dispatch relay" and message["client_id"] == "relay"
    assert message["message"]["text"] == "P1 cardiac arrest on c1 not acknowledged after 0.05 s"
    assert message["message"]["type"] == "escalation" and message["message"]["advice_seq"] == 7
    assert not timing.pending("c1")
    timing.advised("c1", 9, P1)
    assert not timing.pending("c1"), "once per call"


async def test_only_p1_advice_starts_a_timer_and_zero_turns_it_off() -> None:
    hub = FakeHub()
    timing = escalator(hub)
    timing.advised("c1", 1, P2)
    assert not timing.pending("c1")
    off = escalator(hub, after=0.0)
    off.advised("c2", 2, P1)
    assert not off.pending("c2")
    await asyncio.sleep(AFTER * 4)
    assert hub.published == []


async def test_an_acknowledgement_stops_the_timer_for_good() -> None:
    hub = FakeHub()
    timing = escalator(hub)
    timing.advised("c1", 5, P1)
    timing.acknowledged("c1", 4)
    assert timing.pending("c1"), "advice older than the P1 does not count"
    timing.acknowledged("c1", None)
    assert not timing.pending("c1")
    timing.advised("c1", 8, P1)
    assert not timing.pending("c1"), "an acknowledged call starts no new timer"
    timing.advised("c2", 6, P1)
    timing.acknowledged("c2", 6)
    timing.acknowledged("unknown", None)
    await asyncio.sleep(AFTER * 4)
    assert hub.published == []


async def test_a_second_p1_keeps_the_first_timer_and_its_seq() -> None:
    hub = FakeHub()
    timing = escalator(hub)
    timing.advised("c1", 5, P1)
    timing.advised("c1", 6, P1)
    timing.acknowledged("c1", 5)
    assert not timing.pending("c1")


async def test_forgetting_a_call_cancels_its_timer_and_a_new_p1_starts_over() -> None:
    hub = FakeHub()
    timing = escalator(hub)
    timing.advised("c1", 5, P1)
    timing.forget("c1")
    assert not timing.pending("c1")
    await asyncio.sleep(AFTER * 4)
    assert hub.published == []
    timing.advised("c1", 6, P1)
    timing.acknowledged("c1", None)
    timing.forget("c1")
    timing.advised("c1", 7, P1)
    assert timing.pending("c1")
    timing.close()
    assert not timing.pending("c1")
    await asyncio.sleep(AFTER * 4)
    assert hub.published == []


async def test_a_store_that_is_away_loses_a_notice_with_a_warning_not_the_other(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hub = FakeHub()
    hub.fail = [BrokerUnavailable("Redis is away")]
    timing = escalator(hub)
    with caplog.at_level(logging.WARNING, "dispatch_tui.server.escalation"):
        timing.advised("c1", 5, P1)
        await hub.until(1)
        assert [event for event, _, _ in hub.published] == ["client_message"]
        assert "advice_escalated for call c1 not stored: Redis is away" in caplog.text
        hub.fail = [JournalError("disk full"), JournalError("disk full")]
        timing.advised("c2", 6, P1)
        async with asyncio.timeout(TIMEOUT):
            while "client_message for call c2 not stored: disk full" not in caplog.text:
                await asyncio.sleep(0.01)
    assert len(hub.published) == 1


def test_the_text_names_the_incident_in_words() -> None:
    assert escalation_text("c9", "structure_fire", 30.0) == (
        "P1 structure fire on c9 not acknowledged after 30 s"
    )


# -- settings ---------------------------------------------------------------------------------


def test_escalation_settings_come_from_flags_the_file_and_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    defaults = relay_settings(load_settings({}), None)
    assert (defaults.escalate_after, defaults.supervisors_room) == (30.0, "supervisors")
    monkeypatch.setenv("DISPATCH_ESCALATE_AFTER", "12.5")
    monkeypatch.setenv("DISPATCH_SUPERVISORS_ROOM", "floor_leads")
    from_env = relay_settings(load_settings({}), None)
    assert (from_env.escalate_after, from_env.supervisors_room) == (12.5, "floor_leads")
    config = tmp_path / "relay.toml"
    config.write_text('escalate_after = 0\nsupervisors_room = "leads"\n')
    from_file = relay_settings(load_settings({}, config), None)
    assert (from_file.escalate_after, from_file.supervisors_room) == (0.0, "leads")
    flagged = relay_settings(load_settings({"escalate_after": 3.0}, config), None)
    assert flagged.escalate_after == 3.0
    config.write_text("escalate_after = -1\n")
    with pytest.raises(SettingsError, match="escalate_after"):
        load_settings({}, config)


async def test_serve_flags_reach_the_running_relay(relay_process: type[RelayProcess]) -> None:
    relay = relay_process(
        *("--db", ":memory:", "--suggestions-room", DESK),
        *("--escalate-after", "0.3", "--supervisors-room", "leads"),
    ).start()
    async with (
        client(relay.url) as source,
        client(relay.url) as desk,
        client(relay.url) as lead,
    ):
        await join(desk, DESK)
        await join(lead, "leads")
        await publish(source, "call-6", COLLAPSE)
        await p1_advice(desk, "call-6")
        notice = (await recv_event(lead, "client_message"))["data"]
        assert notice["message"]["text"].endswith("on call-6 not acknowledged after 0.3 s")
        assert notice["from"] == f"127.0.0.1:{relay.port}"
