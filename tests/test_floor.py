"""The floor's state (units, alerts, claims) and search, folded from relay events directly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dispatch_tui.console_state import ConsoleState, search
from dispatch_tui.floor import MAX_UNITS, Floor, status_key

NOW = datetime(2024, 5, 14, 14, 0, tzinfo=UTC)


def chat(seq: int, room: str | None, name: str, message: object, ts: str) -> dict[str, object]:
    data = {"from": "127.0.0.1:5000", "name": name, "message": message, "seq": seq, "ts": ts}
    if room is None:
        data["broadcast"] = True
    else:
        data["room"] = room
    return {"event": "client_message", "data": data}


def test_statuses_are_one_whatever_their_spelling() -> None:
    assert {status_key(s) for s in ("en_route", "En Route", "en-route", " EN  ROUTE ")} == {
        "en_route"
    }


def test_units_are_ordered_by_status_then_name_with_unknown_statuses_last() -> None:
    floor = Floor()
    for name, status in (
        ("Medic 7", "transporting"),
        ("Unit 3", "Available"),
        ("Engine 1", "refuelling"),
        ("Unit 1", "available"),
        ("Ladder 2", "en route"),
    ):
        floor.apply_message(
            {"type": "status_update", "unit": name, "status": status}, None, "r", NOW
        )
    assert [unit.name for unit in floor.board()] == [
        "Unit 1",
        "Unit 3",
        "Ladder 2",
        "Medic 7",
        "Engine 1",
    ]
    assert floor.units["Engine 1"].status == "refuelling", "an unknown status is kept as sent"


def test_a_location_update_gives_coordinates_and_the_sender_names_an_anonymous_update() -> None:
    floor = Floor()
    floor.apply_message(
        {"type": "location_update", "unit_id": "Unit_45", "coordinates": [37.77, -122.41]},
        "someone",
        "field_ops",
        NOW,
    )
    floor.apply_message({"type": "status_update", "status": "on_scene"}, "Medic 7", "ops", NOW)
    assert floor.units["Unit_45"].location == "37.77000, -122.41000"
    assert floor.units["Unit_45"].room == "field_ops"
    assert floor.units["Medic 7"].status == "on_scene"
    assert not floor.apply_message({"type": "chat", "text": "hi"}, "x", "r", NOW)


def test_assignment_dispatches_and_available_clears_the_call_and_silence_goes_stale() -> None:
    floor = Floor()
    floor.apply_message(
        {"type": "status_update", "unit": "U1", "status": "available"}, None, "r", NOW
    )
    floor.apply_message({"type": "assignment", "unit": "U1", "call_id": "c-1"}, "Disp", "r", NOW)
    unit = floor.units["U1"]
    assert (unit.status, unit.call_id) == ("dispatched", "c-1")
    assert unit.heard == NOW, "an assignment is not the unit reporting"
    assert not unit.is_stale(NOW + timedelta(seconds=299), 300)
    assert unit.is_stale(NOW + timedelta(seconds=301), 300)
    floor.apply_message(
        {"type": "status_update", "unit": "U1", "status": "Available"}, None, "r", NOW
    )
    assert unit.call_id is None


def test_alerts_wait_in_turn_and_a_replayed_one_is_not_added_twice() -> None:
    state = ConsoleState()
    alert = {"type": "emergency_alert", "priority": "high", "message": "shelter"}
    state.apply(chat(5, None, "Sup", alert, "2024-05-14T14:00:00Z"), NOW)
    state.apply(chat(5, None, "Sup", alert, "2024-05-14T14:00:00Z"), NOW)
    state.apply(
        chat(6, None, "Sup", {**alert, "message": "all clear"}, "2024-05-14T14:01:00Z"), NOW
    )
    assert [a.text for a in state.floor.alerts] == ["shelter", "all clear"]
    assert "alerts" in state.changed
    assert not any(room.lines for room in state.rooms.values()), "an alert is not a chat line"
    assert state.floor.acknowledge_alert() is not None
    assert [a.text for a in state.floor.alerts] == ["all clear"]


def test_claims_acknowledgements_and_escalations_mark_the_call() -> None:
    state = ConsoleState()
    claim = {"call_id": "c-1", "claimed": True, "name": "Disp 5", "seq": 1}
    state.apply({"event": "call_claimed", "data": claim}, NOW)
    assert state.floor.marks["c-1"].claimed_by == "Disp 5"
    state.apply({"event": "call_claimed", "data": {**claim, "claimed": False}}, NOW)
    assert state.floor.marks["c-1"].claimed_by is None
    state.apply({"event": "advice_escalated", "data": {"call_id": "c-1", "seq": 3}}, NOW)
    state.apply({"event": "advice_escalated", "data": {"call_id": "c-1", "seq": 4}}, NOW)
    assert state.floor.new_escalations == ["c-1"], "announced once"
    ack = {"call_id": "c-1", "advice_seq": 2, "name": "Disp 3", "seq": 5}
    state.apply({"event": "advice_acknowledged", "data": ack}, NOW)
    marks = state.floor.marks["c-1"]
    assert (marks.acknowledged_by, marks.acknowledged_seq) == ("Disp 3", 2)
    assert {"calls", "advice"} <= state.changed


def test_search_finds_chat_and_transcripts_newest_first_and_keeps_to_a_room() -> None:
    state = ConsoleState()
    state.room("ops").joined = True
    state.apply(chat(1, "ops", "Engine 12", "Warehouse fire", "2024-05-14T14:00:00Z"), NOW)
    state.apply(chat(2, "other", "Unit 3", "no match here", "2024-05-14T14:00:30Z"), NOW)
    transcript = {
        "call_id": "call-3",
        "speaker": "caller",
        "text": "smoke from the WAREHOUSE",
        "is_final": True,
        "seq": 3,
        "ts": "2024-05-14T14:01:00Z",
    }
    state.apply({"event": "transcript", "data": transcript}, NOW)
    found = search(state, "warehouse")
    assert [(m.room, m.call_id, m.who) for m in found] == [
        (None, "call-3", "caller"),
        ("ops", None, "Engine 12"),
    ]
    assert [m.room for m in search(state, "warehouse", room="ops")] == ["ops"]
    assert search(state, "   ") == []


def test_the_board_is_bounded_and_forgets_the_longest_silent_first() -> None:
    floor = Floor()
    floor.apply_message(
        {"type": "status_update", "unit": "heard", "status": "available"}, None, "r", NOW
    )
    for number in range(MAX_UNITS + 5):
        # Assigned but never heard from: these go first, and comparing them must not fail.
        floor.apply_message(
            {"type": "assignment", "unit": f"U{number}", "call_id": "c"}, "D", "r", NOW
        )
    assert len(floor.units) == MAX_UNITS
    assert "heard" in floor.units
