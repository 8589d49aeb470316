"""Snapshots of the console's screens, so a layout change is seen in review.

The app runs with ``connect=False``: no relay, a fixed clock and a fixed list
of relay events fed through ``handle_event``, so every run draws the same
screen. Regenerate with ``pytest tests/test_console_snapshots.py --snapshot-update``
and look at the SVGs in ``tests/__snapshots__`` before accepting them.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from dispatch_tui.app import ConsoleSettings, DispatchApp
from dispatch_tui.client import DispatchClient, LinkState
from dispatch_tui.events import ClientEntry

SIZE = (160, 48)
URL = "ws://relay.example:8765"
#: The console's "now": shortly after the last event, so call clocks read a fixed time.
NOW = datetime(2024, 5, 14, 14, 3, 20, tzinfo=UTC)

SnapCompare = Callable[..., bool]
RunBefore = Callable[[Pilot[Any]], Awaitable[None]]


def transcript(
    seq: int, ts: str, call_id: str, speaker: str, text: str, segment: str, final: bool = True
) -> dict[str, Any]:
    data = {
        "call_id": call_id,
        "text": text,
        "is_final": final,
        "speaker": speaker,
        "seq": seq,
        "ts": ts,
        "segment_id": segment,
    }
    return {"event": "transcript", "data": data}


def chat(seq: int, ts: str, room: str, name: str, port: int, message: Any) -> dict[str, Any]:
    data = {
        "from": f"127.0.0.1:{port}",
        "message": message,
        "room": room,
        "name": name,
        "client_id": f"c-{port}",
        "seq": seq,
        "ts": ts,
    }
    return {"event": "client_message", "data": data}


CARDIAC_ARREST = {
    "incident_type": "cardiac_arrest",
    "priority": 1,
    "confidence": 0.92,
    "summary": "Adult male collapsed at home, not breathing",
    "location": "12 Elm Street, apartment 4B",
    "questions": [
        "What is the address of the emergency?",
        "Is there a defibrillator (AED) nearby?",
        "How old is the patient?",
    ],
    "instructions": [
        "Start chest compressions: hard and fast, centre of the chest",
        "Send someone to meet the crew at the door",
    ],
    "units": ["ALS ambulance", "Fire first responders"],
    "evidence": ["collapsed", "not breathing"],
}

COLLISION = {
    "incident_type": "traffic_collision",
    "priority": 2,
    "confidence": 0.71,
    "summary": "Two-car crash, one driver bleeding",
    "location": "Highway 9 near exit 14",
    "questions": ["How many vehicles are involved?", "Is anyone trapped?"],
    "instructions": ["Keep away from traffic", "Do not move the injured"],
    "units": ["BLS ambulance", "Police patrol"],
    "evidence": ["crash", "bleeding"],
}

#: What a relay would send: status, two calls with interim and final text,
#: advice for both, and chat in both rooms (one line with Rich markup in it).
EVENTS: list[dict[str, Any]] = [
    {"event": "status", "data": {"source": "connected", "agent": "rules"}},
    transcript(1, "2024-05-14T14:01:05Z", "call-1041", "caller", "my husband just", "1a", False),
    transcript(
        2, "2024-05-14T14:01:07Z", "call-1041", "caller", "My husband just collapsed!", "1a"
    ),
    transcript(
        3,
        "2024-05-14T14:01:12Z",
        "call-1041",
        "dispatcher",
        "What is the address of the emergency?",
        "1b",
    ),
    transcript(
        4,
        "2024-05-14T14:01:18Z",
        "call-1041",
        "caller",
        "12 Elm Street, apartment 4B. He is not breathing.",
        "1c",
    ),
    transcript(5, "2024-05-14T14:02:30Z", "call-2207", "caller", "there's been a", "2a", False),
    transcript(
        6,
        "2024-05-14T14:02:33Z",
        "call-2207",
        "caller",
        "There's been a crash on Highway 9 near exit 14.",
        "2a",
    ),
    {
        "event": "ai_suggestion",
        "data": {
            "call_id": "call-1041",
            "seq": 7,
            "ts": "2024-05-14T14:01:20Z",
            "suggestion": CARDIAC_ARREST,
        },
    },
    transcript(8, "2024-05-14T14:02:40Z", "call-2207", "dispatcher", "Is anyone hurt?", "2b"),
    transcript(
        9,
        "2024-05-14T14:02:44Z",
        "call-2207",
        "caller",
        "One driver is bleeding from the",
        "2c",
        False,
    ),
    {
        "event": "ai_suggestion",
        "data": {
            "call_id": "call-2207",
            "seq": 10,
            "ts": "2024-05-14T14:02:45Z",
            "suggestion": COLLISION,
        },
    },
    transcript(
        11,
        "2024-05-14T14:02:50Z",
        "call-1041",
        "dispatcher",
        "Is he breathing at",
        "1d",
        False,
    ),
    chat(
        12,
        "2024-05-14T14:00:02Z",
        "dispatch_center",
        "Medic 7",
        5001,
        "Medic 7 en route, ETA six minutes",
    ),
    chat(
        13,
        "2024-05-14T14:01:40Z",
        "dispatch_center",
        "Sup. Lee",
        5002,
        "all units: road closure on Route 9 until 18:00",
    ),
    chat(
        14,
        "2024-05-14T14:02:10Z",
        "dispatch_center",
        "Unit 23",
        5003,
        "markup stays literal: [bold red]X[/]",
    ),
    chat(
        15,
        "2024-05-14T14:02:55Z",
        "field_ops",
        "Engine 12",
        5004,
        "Engine 12 on scene, smoke showing",
    ),
    chat(
        16,
        "2024-05-14T14:03:05Z",
        "field_ops",
        "Unit 23",
        5003,
        "urgent: need backup at the Maple Street crossing",
    ),
]


#: Units reporting in the relay's example shapes (one silent for long, one with markup in it),
#: a claim and an acknowledgement of call-1041, and a supervisor's emergency alert.
FLOOR_EVENTS: list[dict[str, Any]] = [
    chat(
        17,
        "2024-05-14T14:03:00Z",
        "dispatch_center",
        "Unit 23",
        5003,
        {
            "type": "status_update",
            "unit": "Unit 23",
            "status": "en_route",
            "location": "Main St & 1st Ave",
        },
    ),
    chat(
        18,
        "2024-05-14T14:03:10Z",
        "field_ops",
        "Unit 45",
        5005,
        {
            "type": "location_update",
            "unit_id": "Unit_45",
            "coordinates": [37.77, -122.41],
            "timestamp": 1715695390,
        },
    ),
    chat(
        19,
        "2024-05-14T14:02:00Z",
        "dispatch_center",
        "Medic 7",
        5001,
        {
            "type": "status_update",
            "unit": "Medic 7",
            "status": "available",
            "location": "Station 3",
        },
    ),
    chat(
        20,
        "2024-05-14T13:40:00Z",
        "field_ops",
        "Engine 12",
        5004,
        {"type": "status_update", "unit": "Engine 12", "status": "on_scene", "location": "Oak Ave"},
    ),
    chat(
        21,
        "2024-05-14T14:03:15Z",
        "field_ops",
        "x",
        5006,
        {"type": "status_update", "unit": "[bold red]Rogue[/]", "status": "\x1b[31mlost"},
    ),
    {
        "event": "call_claimed",
        "data": {
            "call_id": "call-1041",
            "claimed": True,
            "name": "Dispatcher 5",
            "client_id": "c-9",
            "from": "127.0.0.1:5009",
            "room": None,
            "seq": 22,
            "ts": "2024-05-14T14:03:16Z",
        },
    },
]
ALERT_EVENT = {
    "event": "client_message",
    "data": {
        "from": "127.0.0.1:5002",
        "message": {
            "type": "emergency_alert",
            "priority": "high",
            "message": "Tornado warning for the county: all units take shelter [now]",
        },
        "broadcast": True,
        "name": "Sup. Lee",
        "client_id": "c-5002",
        "seq": 23,
        "ts": "2024-05-14T14:03:18Z",
    },
}


@pytest.fixture(autouse=True)
def utc_local_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Chat times are drawn in local time; pin it to UTC so the snapshot is the same anywhere."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def make_app() -> DispatchApp:
    """The console as ``dispatch tui`` builds it, but offline and with a stopped clock."""
    client = DispatchClient(URL, name="Dispatcher 3")
    settings = ConsoleSettings(rooms=("dispatch_center", "field_ops"))
    return DispatchApp(client, settings, clock=lambda: NOW, connect=False)


def live_console(notes: list[str], extra: tuple[dict[str, Any], ...] = ()) -> RunBefore:
    """A ``run_before`` that puts the app where a connected console would be after EVENTS.

    Notifications are recorded into ``notes`` instead of shown: a toast expires
    after a wall-clock timeout, so on a slow machine it may or may not be in
    the picture, and it would cover the advice it announces.
    """

    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, DispatchApp)
        await pilot.pause()

        def record(message: str, **_: Any) -> None:
            notes.append(message)

        app.notify = record  # type: ignore[method-assign]
        # The cursor blinks on a wall-clock timer; a steady cursor draws the same every time.
        app.main.query_one("#message", Input).cursor_blink = False
        for name, members in (("dispatch_center", 4), ("field_ops", 3)):
            room = app.state.room(name)
            room.joined = True
            room.members = members
        app.state.set_members({"dispatch_center": 4, "field_ops": 3, "hazmat": 0})
        app.state.select("dispatch_center")
        app._link_changed(LinkState.CONNECTED)
        app.state.set_clients(
            [
                ClientEntry(address="127.0.0.1:1", name="Dispatcher 3", role="console"),
                ClientEntry(address="127.0.0.1:1", name="Medic 7", role="client"),
                ClientEntry(address="127.0.0.1:1", name="Sup. Lee", role="client"),
                ClientEntry(address="127.0.0.1:5003", role="client"),
            ]
        )
        for event in (*EVENTS, *extra):
            app.handle_event(event)
        app.redraw()
        await pilot.pause()
        await pilot.pause()

    return run_before


def test_main_screen(snap_compare: SnapCompare) -> None:
    """Rooms, two calls (interim text dim), P1 and P2 advice, chat with markup shown literally."""
    notes: list[str] = []
    app = make_app()
    assert snap_compare(app, terminal_size=SIZE, run_before=live_console(notes))
    assert notes == ["P1 cardiac arrest on call-1041: 12 Elm Street, apartment 4B"]
    assert app.bells == 1


def test_help_screen(snap_compare: SnapCompare) -> None:
    """F1 lists every key binding over the live console."""
    app = make_app()
    assert snap_compare(app, press=["f1"], terminal_size=SIZE, run_before=live_console([]))


def test_broadcast_confirmation(snap_compare: SnapCompare) -> None:
    """Ctrl+B asks before sending the typed line to everyone; nothing is sent yet."""
    app = make_app()
    prepare = live_console([])

    async def run_before(pilot: Pilot[Any]) -> None:
        await prepare(pilot)
        field = app.main.query_one("#message", Input)
        field.value = "All units: Route 9 is closed northbound until 18:00"

    assert snap_compare(app, press=["ctrl+b"], terminal_size=SIZE, run_before=run_before)
    assert app.state.rooms["dispatch_center"].lines[-1].sender == "Unit 23"


def test_units_board(snap_compare: SnapCompare) -> None:
    """F2: units by status, coordinates as text, a stale unit marked, markup and escapes literal."""
    app = make_app()
    prepare = live_console([], tuple(FLOOR_EVENTS))
    assert snap_compare(app, press=["f2"], terminal_size=SIZE, run_before=prepare)
    assert [unit.name for unit in app.state.floor.board()] == [
        "Medic 7",
        "Unit 23",
        "Engine 12",
        "[bold red]Rogue[/]",
        "Unit_45",
    ]


def test_alert_banner(snap_compare: SnapCompare) -> None:
    """An emergency alert runs across the console above the panes, covering none of them."""
    app = make_app()
    prepare = live_console([], (ALERT_EVENT,))
    assert snap_compare(app, terminal_size=SIZE, run_before=prepare)
    assert app.bells == 2, "the P1 and the alert each ring once"


def test_claimed_call(snap_compare: SnapCompare) -> None:
    """A call taken by another dispatcher says so on its transcript and on its advice card."""
    app = make_app()
    prepare = live_console([], tuple(FLOOR_EVENTS))
    assert snap_compare(app, terminal_size=SIZE, run_before=prepare)
