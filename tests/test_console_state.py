"""The console's state, folded from relay events without any screen."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dispatch_tui.console_state import ChatLine, ConsoleState, chat_urgency, message_text
from dispatch_tui.events import ClientEntry

NOW = datetime(2026, 11, 26, 19, 44, tzinfo=UTC)


def transcript(
    call_id: str, text: str, seq: int, final: bool = True, **extra: Any
) -> dict[str, Any]:
    data = {"call_id": call_id, "text": text, "is_final": final, "seq": seq, **extra}
    return {"event": "transcript", "data": data}


def suggestion(call_id: str, priority: int, seq: int, **fields: Any) -> dict[str, Any]:
    advice = {"incident_type": "cardiac_arrest", "priority": priority, **fields}
    return {
        "event": "ai_suggestion",
        "data": {"call_id": call_id, "seq": seq, "suggestion": advice},
    }


def chat(room: str | None, message: Any, seq: int, name: str = "Unit 23") -> dict[str, Any]:
    data: dict[str, Any] = {"from": "127.0.0.1:4000", "message": message, "name": name, "seq": seq}
    if room is None:
        data["broadcast"] = True
    else:
        data["room"] = room
    return {"event": "client_message", "data": data}


def test_interim_fragments_replace_each_other_and_the_final_replaces_them() -> None:
    state = ConsoleState()
    state.apply(transcript("c1", "he is", 1, final=False, segment_id="s1", speaker="caller"), NOW)
    state.apply(transcript("c1", "he is not brea", 2, final=False, segment_id="s1"), NOW)
    state.apply(transcript("c1", "he is not breathing", 3, segment_id="s1", speaker="caller"), NOW)
    state.apply(transcript("c1", "at all", 4, segment_id="s1", speaker="caller"), NOW)
    state.apply(
        transcript("c1", "what is the address", 5, segment_id="s2", speaker="dispatcher"), NOW
    )
    lines = state.calls["c1"].lines
    assert [(line.text, line.final) for line in lines] == [
        ("he is not breathing at all", True),
        ("what is the address", True),
    ]
    assert state.calls["c1"].dispatcher_words() >= {"what", "address"}


def test_every_pane_is_bounded() -> None:
    state = ConsoleState(max_lines=10, max_calls=3, max_rooms=20)
    state.select("dispatch_center")
    state.room("dispatch_center").joined = True
    for seq in range(1, 200):
        state.apply(transcript(f"c{seq % 5}", f"line {seq}", seq), NOW)
        state.apply(chat("dispatch_center", f"chat {seq}", seq), NOW)
        state.apply(chat(f"room-{seq}", "hello", seq), NOW)
    assert len(state.calls) == 3
    assert all(len(call.lines) <= 10 for call in state.calls.values())
    assert len(state.rooms["dispatch_center"].lines) == 10
    assert state.rooms["dispatch_center"].lines[-1].text == "chat 199"
    assert len(state.rooms) == 20


def test_a_priority_one_call_alarms_once() -> None:
    state = ConsoleState()
    state.apply(suggestion("c1", 2, 1), NOW)
    assert state.alarms == []
    state.apply(suggestion("c1", 1, 2), NOW)
    state.apply(suggestion("c1", 1, 3, location="418 elm street"), NOW)
    assert [advice.call_id for advice in state.alarms] == ["c1"]
    state.apply(suggestion("c2", 1, 4), NOW)
    assert [advice.call_id for advice in state.alarms] == ["c1", "c2"]
    assert state.advice["c1"].suggestion["location"] == "418 elm street"


def test_cards_are_most_urgent_then_newest_first() -> None:
    state = ConsoleState()
    state.apply(suggestion("old-p1", 1, 1), NOW)
    state.apply(suggestion("p3", 3, 2), NOW)
    state.apply(suggestion("new-p1", 1, 3), NOW)
    assert [advice.call_id for advice in state.cards()] == ["new-p1", "old-p1", "p3"]


def test_questions_the_dispatcher_asked_drop_off_the_card() -> None:
    state = ConsoleState()
    questions = ["Is there a defibrillator nearby?", "Is the patient breathing normally?"]
    state.apply(suggestion("c1", 1, 1, questions=questions), NOW)
    state.apply(transcript("c1", "is there a defibrillator nearby", 2, speaker="dispatcher"), NOW)
    asked = state.calls["c1"].dispatcher_words()
    assert state.advice["c1"].open_questions(asked) == ["Is the patient breathing normally?"]


def test_unread_and_urgent_rooms_and_the_most_urgent_one() -> None:
    state = ConsoleState()
    state.select("dispatch_center")
    state.apply(chat("field_ops", "en route", 1), NOW)
    state.apply(chat("field_ops", "on scene", 2), NOW)
    state.apply(chat("fire", "MAYDAY mayday, firefighter down", 3), NOW)
    state.apply(chat("dispatch_center", "read", 4), NOW)
    assert state.rooms["field_ops"].unread == 2
    assert state.rooms["field_ops"].urgent is None
    assert state.rooms["fire"].urgent == 1
    assert state.rooms["dispatch_center"].unread == 0
    assert state.most_urgent_room() == "fire"
    state.select("fire")
    assert state.rooms["fire"].unread == 0
    assert state.most_urgent_room() == "field_ops"


def test_broadcasts_show_in_every_joined_room_without_unread() -> None:
    state = ConsoleState()
    for name in ("a", "b"):
        state.room(name).joined = True
    state.select("a")
    state.apply(chat(None, "all units: road closed", 1), NOW)
    assert [line.text for line in state.rooms["b"].lines] == ["all units: road closed"]
    assert state.rooms["b"].unread == 0
    assert state.new_chat[0].broadcast


def test_chat_messages_of_any_json_shape_become_one_line() -> None:
    assert message_text("plain") == "plain"
    assert message_text({"text": "hello", "priority": 1}) == "hello"
    assert message_text([1, 2]) == "[1,2]"
    assert chat_urgency({"text": "x", "priority": 2}) == 2
    assert chat_urgency("shots fired at the corner") == 1
    assert chat_urgency("coffee anyone") is None


def test_own_lines_do_not_count_as_unread() -> None:
    state = ConsoleState()
    state.select("a")
    state.add_chat("b", ChatLine(NOW, "you", "hi", own=True, seq=1))
    assert state.rooms["b"].unread == 0


def test_a_cluster_without_redis_is_shown_in_the_status_bar() -> None:
    from dispatch_tui.client import LinkState
    from dispatch_tui.widgets.status import status_line

    state = ConsoleState()
    now = datetime.now(UTC)
    status = {"source": "off", "agent": "ready"}
    state.apply({"event": "status", "data": {**status, "redis": "unavailable"}}, now)
    assert state.redis == "unavailable"
    line = status_line("ws://a", None, LinkState.CONNECTED, "off", "ready", None, state.redis)
    assert "redis: unavailable" in line.plain
    state.apply({"event": "status", "data": {**status, "redis": "connected"}}, now)
    line = status_line("ws://a", None, LinkState.CONNECTED, "off", "ready", None, state.redis)
    assert "redis" not in line.plain


def test_a_relay_whose_journal_failed_is_shown_in_the_status_bar() -> None:
    from dispatch_tui.client import LinkState
    from dispatch_tui.widgets.status import status_line

    state = ConsoleState()
    failed = {"source": "off", "agent": "ready", "journal": "failed", "journal_detail": "disk full"}
    state.apply({"event": "status", "data": failed}, datetime.now(UTC))
    assert state.journal == "failed"
    line = status_line("ws://a", None, LinkState.CONNECTED, "off", "ready", None, None, "failed")
    assert "journal: failed (messages not stored)" in line.plain


def test_polled_members_and_clients_mark_their_panes_only_when_they_changed() -> None:
    """The console polls every few seconds; an answer like the last one redraws nothing."""
    state = ConsoleState()
    state.set_members({"dispatch_center": 2})
    state.set_clients([ClientEntry(address="127.0.0.1:1", name="Medic 7", role="client")])
    assert {"rooms", "clients"} <= state.changed
    state.changed.clear()
    state.set_members({"dispatch_center": 2})
    state.set_clients([ClientEntry(address="127.0.0.1:1", name="Medic 7", role="client")])
    assert not state.changed
    state.set_members({"dispatch_center": 3})
    assert state.changed == {"rooms"}
    state.set_members({})  # the room emptied
    assert state.room("dispatch_center").members == 0
    state.changed.clear()
    state.set_clients([])
    assert state.changed == {"clients"}
    assert state.clients == ()
    state.set_clients([ClientEntry(address="127.0.0.1:1", name="Medic 7", role="client")])
    state.select("field_ops")
    assert state.clients == () and "clients" in state.changed  # not the last room's list
