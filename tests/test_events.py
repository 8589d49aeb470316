"""The relay's outgoing events: one model each, encoded once, read back the same."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dispatch_tui import events as ev
from dispatch_tui import protocol as p
from dispatch_tui.server.broker import LocalBroker
from dispatch_tui.server.hub import Hub
from dispatch_tui.server.journal import MEMORY, Journal

#: One example of every event, as the relay builds it.
EXAMPLES: list[ev.Event] = [
    ev.Welcome(
        client_id="c1", address="127.0.0.1:5", name=None, role="open", server="d", protocol=1
    ),
    ev.Status(source="connected", agent="error", detail="timed out"),
    ev.Error(code="forbidden", message="no", event="join_room"),
    ev.Sent(recipients=2, seq=7, room="ops"),
    ev.RoomJoined(room_name="ops", clients=3),
    ev.RoomLeft(room_name="ops", clients=2),
    ev.RoomsList(rooms={"ops": 2}, partial=True),
    ev.ClientsList(clients=[{"address": "a:1", "room": "ops"}]),
    ev.Identified(name="Dispatcher 3", client_id="c1"),
    ev.History(room_name="ops", messages=[], has_more=False),
    ev.ClientMessage(sender="a:1", message={"x": [1]}, room="ops", client_id="c", seq=4, ts="t"),
    ev.Transcript(call_id="k", text="hi", is_final=False, seq=5, ts="t", segment_id="s"),
    ev.AiSuggestion(call_id="k", seq=6, ts="t", suggestion={"priority": 1}),
    ev.CallClaimed(call_id="k", claimed=False, sender="a:1", room=None, seq=8, ts="t"),
    ev.AdviceAcknowledged(call_id="k", advice_seq=6, sender="a:1", seq=9, ts="t"),
    ev.AdviceEscalated(call_id="k", advice_seq=6, incident_type="fall", seq=10, ts="t"),
]


def test_every_event_name_has_one_model_and_an_example() -> None:
    assert set(ev.EVENT_MODELS) == set(ev.EventName)
    assert {type(example) for example in EXAMPLES} == set(ev.EVENT_MODELS.values())


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda event: event.event_name.value)
def test_an_encoded_event_parses_back_to_the_same_model(event: ev.Event) -> None:
    frame = json.loads(ev.encode_event(event, "r1"))
    assert frame["event"] == event.event_name.value and frame["id"] == "r1"
    assert ev.parse_event(frame) == event


def test_the_seed_events_keep_their_field_order_and_from() -> None:
    frame = json.loads(ev.encode_event(EXAMPLES[10]))
    assert list(frame["data"]) == ["from", "message", "room", "name", "client_id", "seq", "ts"]
    broadcast = ev.ClientMessage(sender="a:1", message="hi", broadcast=True, seq=1, ts="t")
    data = json.loads(ev.encode_event(broadcast))["data"]
    assert list(data)[:3] == ["from", "message", "broadcast"] and "room" not in data


def test_fields_left_out_when_none_and_kept_as_null_otherwise() -> None:
    status = json.loads(ev.encode_event(ev.Status()))["data"]
    assert status == {"source": "off", "agent": "off"}
    claim = json.loads(ev.encode_event(EXAMPLES[13]))["data"]
    assert claim["room"] is None and claim["name"] is None
    transcript = json.loads(ev.encode_event(EXAMPLES[11]))["data"]
    assert "speaker" not in transcript and "provider" not in transcript


def test_parse_event_ignores_unknown_and_malformed_events() -> None:
    assert ev.parse_event({"event": "from_the_future", "data": {}}) is None
    assert ev.parse_event({"event": "transcript", "data": {"text": "no call id"}}) is None
    assert ev.parse_event({"event": "sent", "data": "not an object"}) is None
    extra = ev.parse_event(
        {"event": "room_joined", "data": {"room_name": "a", "clients": 1, "x": 2}}
    )
    assert extra == ev.RoomJoined(room_name="a", clients=1)


def test_stream_position_of_streamed_frames_only() -> None:
    message = json.loads(ev.encode_event(EXAMPLES[10]))
    assert ev.stream_position(message) == ("ops", 4)
    escalated = json.loads(ev.encode_event(EXAMPLES[15]))
    assert ev.stream_position(escalated) == (None, 10)
    assert ev.stream_position(json.loads(ev.encode_event(EXAMPLES[3]))) is None
    assert ev.stream_position({"event": "transcript", "data": {"seq": True}}) is None
    assert {
        "client_message",
        "transcript",
        "ai_suggestion",
        "call_claimed",
        "advice_acknowledged",
        "advice_escalated",
    } == ev.STREAMED


def test_a_history_frame_wraps_stored_frames_as_they_are() -> None:
    stored = [ev.encode_event(EXAMPLES[10]), ev.encode_event(EXAMPLES[11])]
    frame = json.loads(ev.encode_history("ops", stored, True, 3))
    page = ev.parse_event(frame)
    assert isinstance(page, ev.History) and page.has_more and frame["id"] == 3
    assert [ev.parse_event(message) for message in page.messages] == EXAMPLES[10:12]


def test_an_error_frame_carries_the_request_id() -> None:
    error = p.ProtocolError(p.ErrorCode.NOT_FOUND, "not in any room", "leave_room", "r9")
    frame: dict[str, Any] = json.loads(ev.error_event(error))
    assert frame == {
        "event": "error",
        "data": {"code": "not_found", "message": "not in any room", "event": "leave_room"},
        "id": "r9",
    }


def test_every_request_model_has_a_handler_in_the_hub() -> None:
    journal = Journal(MEMORY)

    class Silent:
        def send(self, sessions: object, payload: bytes) -> int:
            return 0

        def close(self, session: object, code: int, reason: str) -> None:
            """Nothing to close."""

    hub = Hub(Silent(), journal, LocalBroker(journal))
    assert set(hub._handlers) == set(p.REQUEST_MODELS.values())
    assert all(model.event == name for name, model in p.REQUEST_MODELS.items())
