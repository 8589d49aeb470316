"""Rooms, presence and requests exercised directly, without sockets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Collection
from typing import Any

import pytest

from dispatch_tui import events as ev
from dispatch_tui import protocol as p
from dispatch_tui.server.auth import Role
from dispatch_tui.server.broker import LocalBroker
from dispatch_tui.server.hub import Hub, Session
from dispatch_tui.server.journal import MEMORY, Journal


class RecordingOutbox:
    """Keeps every frame per session, as a socket would have written it."""

    def __init__(self) -> None:
        self.frames: dict[str, list[dict[str, Any]]] = {}
        self.closed: dict[str, tuple[int, str]] = {}

    def send(self, sessions: Collection[Session], payload: bytes) -> int:
        for session in sessions:
            self.frames.setdefault(session.client_id, []).append(json.loads(payload))
        return len(sessions)

    def close(self, session: Session, code: int, reason: str) -> None:
        self.closed[session.client_id] = (code, reason)

    def events(self, session: Session, event: str) -> list[dict[str, Any]]:
        return [f for f in self.frames.get(session.client_id, []) if f["event"] == event]


@pytest.fixture
async def hub() -> AsyncIterator[Hub]:
    journal = Journal(MEMORY)
    await asyncio.to_thread(journal.start, asyncio.get_running_loop())
    yield Hub(RecordingOutbox(), journal, LocalBroker(journal))
    journal.close()


def outbox(hub: Hub) -> RecordingOutbox:
    assert isinstance(hub.outbox, RecordingOutbox)
    return hub.outbox


async def call(hub: Hub, session: Session, event: str, data: Any = None, **extra: Any) -> None:
    message: dict[str, Any] = {"event": event, **extra}
    if data is not None:
        message["data"] = data
    await hub.handle(session, json.dumps(message))


async def test_connect_greets_and_disconnect_cleans_up(hub: Hub) -> None:
    a = hub.connect("10.0.0.1:5000")
    b = hub.connect("10.0.0.2:5000")
    assert [f["event"] for f in outbox(hub).frames[a.client_id]] == ["welcome", "status"]
    await call(hub, a, "join_room", {"room_name": "r1"})
    await call(hub, a, "join_room", {"room_name": "r2"})
    await call(hub, b, "join_room", {"room_name": "r2"})
    assert {room: len(m) for room, m in hub.rooms.items()} == {"r1": 1, "r2": 2}
    hub.disconnect(a)
    assert {room: len(m) for room, m in hub.rooms.items()} == {"r2": 1}
    assert a.client_id not in hub.sessions


async def test_room_message_goes_to_other_members_and_ack_waits_for_journal(hub: Hub) -> None:
    sender = hub.connect("10.0.0.1:1")
    member = hub.connect("10.0.0.2:2")
    outsider = hub.connect("10.0.0.3:3")
    await call(hub, member, "join_room", {"room_name": "ops"})
    await call(hub, sender, "join_room", {"room_name": "ops"})
    await call(hub, sender, "send_to_room", {"room_name": "ops", "message": "go"}, id=9)
    [message] = outbox(hub).events(member, "client_message")
    assert message["data"]["from"] == "10.0.0.1:1"
    assert not outbox(hub).events(outsider, "client_message")
    assert not outbox(hub).events(sender, "client_message")
    await hub.journal.flush()
    await asyncio.sleep(0)
    [ack] = outbox(hub).events(sender, "sent")
    assert ack == {
        "event": "sent",
        "data": {"recipients": 1, "seq": message["data"]["seq"], "room": "ops"},
        "id": 9,
    }


async def test_roles_refuse_rooms_broadcast_and_publish(hub: Hub) -> None:
    field = Role("field", rooms=("field_*",), broadcast=False, publish=False)
    unit = hub.connect("10.0.0.9:9", role=field)
    await call(hub, unit, "join_room", {"room_name": "field_ops"})
    await call(hub, unit, "join_room", {"room_name": "dispatch_center"})
    await call(hub, unit, "send_to_all", {"message": "x"})
    await call(hub, unit, "publish_transcript", {"call_id": "c", "text": "t", "is_final": True})
    errors = outbox(hub).events(unit, "error")
    assert [e["data"]["code"] for e in errors] == ["forbidden"] * 3
    assert list(unit.rooms) == ["field_ops"]


async def test_set_status_tells_everyone_only_on_change(hub: Hub) -> None:
    a = hub.connect("10.0.0.1:1")
    hub.set_status(source="connected")
    hub.set_status(source="connected")
    statuses = outbox(hub).events(a, "status")
    assert [s["data"]["source"] for s in statuses] == ["off", "connected"]


def test_parse_request_rejects_each_kind_of_bad_input() -> None:
    cases = {
        "{": p.ErrorCode.BAD_JSON,
        "[]": p.ErrorCode.BAD_MESSAGE,
        '{"event": null}': p.ErrorCode.BAD_MESSAGE,
        '{"event": "x"}': p.ErrorCode.UNKNOWN_EVENT,
        '{"event": "join_room", "data": {"room_name": true}}': p.ErrorCode.INVALID_DATA,
        '{"event": "history", "data": {"limit": true}}': p.ErrorCode.INVALID_DATA,
        '{"event": "list_rooms", "id": true}': p.ErrorCode.INVALID_DATA,
    }
    for frame, code in cases.items():
        with pytest.raises(p.ProtocolError) as error:
            p.parse_request(frame)
        assert error.value.code is code, frame


def test_parse_request_accepts_seed_requests_without_data() -> None:
    assert p.parse_request('{"event": "leave_room"}').data == p.LeaveRoom()
    assert p.parse_request('{"event": "list_clients", "data": null}').data == p.ListClients()
    request = p.parse_request('{"event": "send_to_all", "data": {"message": null}, "id": 3}')
    assert isinstance(request.data, p.SendToAll)
    assert request.data.message is None
    assert request.id == 3


def test_encode_keeps_seed_field_order_and_unicode() -> None:
    event = ev.ClientMessage(
        sender="1.2.3.4:5", message="é", room="r", name=None, client_id="c", seq=1, ts="t"
    )
    frame = ev.encode_event(event, "id1")
    assert frame.startswith(b'{"event":"client_message","data":{"from":"1.2.3.4:5","message":"')
    assert "é".encode() in frame
    assert json.loads(frame)["id"] == "id1"


def test_a_seq_template_fills_only_the_top_level_seq() -> None:
    """A message that itself carries the placeholder number cannot confuse the filling."""
    from dispatch_tui.events import _SEQ_MARK, SeqTemplate

    def build(seq: int) -> ev.Event:
        return ev.ClientMessage(
            sender="a:1", message={"seq": _SEQ_MARK}, room="r", seq=seq, ts="now"
        )

    template = SeqTemplate.encode(build)
    filled = json.loads(template.fill(42))
    assert template.event == "client_message"
    assert filled["data"]["message"] == {"seq": _SEQ_MARK}
    assert (filled["data"]["seq"], filled["data"]["ts"]) == (42, "now")


def test_another_relays_client_entries_that_do_not_read_are_skipped() -> None:
    from dispatch_tui.server.hub import _remote_entries

    entries = [
        {"address": "10.0.0.2:1", "room": "ops", "rooms": ["ops"], "name": "Medic 7"},
        {"rooms": ["ops"], "name": "no address"},
        {"address": "10.0.0.2:2", "rooms": ["fire"]},
        ["not", "an", "object"],  # type: ignore[list-item]
        {"address": "10.0.0.2:3", "rooms": None},
    ]
    assert [e.name for e in _remote_entries(entries, "ops")] == ["Medic 7"]
    assert [e.address for e in _remote_entries(entries, None)] == ["10.0.0.2:1", "10.0.0.2:2"]
