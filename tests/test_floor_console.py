"""The console runs the floor: units board, emergency alerts, claims, assignments, search.

Against a real relay: units report with ``dispatch send --json`` in the shapes
of the relay's own examples, other dispatchers are real consoles or real
WebSocket clients.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, OptionList

from dispatch_tui.screens.pick import PickScreen
from dispatch_tui.server.agents.rules import RulesAgent
from dispatch_tui.server.pipeline import PipelineSettings
from dispatch_tui.server.relay import Relay, RelaySettings
from dispatch_tui.widgets.alerts import AlertBanner, NoticeLine
from dispatch_tui.widgets.calls import CallCard
from dispatch_tui.widgets.units import UnitsBoard
from tests.conftest import recv_event, request
from tests.console_helpers import (
    console_app,
    relay_gone,
    rendered,
    running,
    started,
    type_and_enter,
    until,
)
from tests.test_console import client, publish, say


async def start_relay(tmp_path: Path, **settings: Any) -> Relay:
    """A relay with the rules agent, so published transcripts bring advice."""
    server = Relay(
        RelaySettings(port=0, db=str(tmp_path / "journal.sqlite3"), **settings),
        agent=RulesAgent(),
        pipeline=PipelineSettings(idle_gap=0.2),
    )
    await server.start()
    return server


@pytest.fixture
async def relay(tmp_path: Path) -> AsyncIterator[Relay]:
    server = await start_relay(tmp_path)
    try:
        yield server
    finally:
        await server.stop()


STATUS = {
    "type": "status_update",
    "unit": "Unit 23",
    "status": "en_route",
    "location": "Main St & 1st Ave",
}
LOCATION = {
    "type": "location_update",
    "unit_id": "Unit_45",
    "coordinates": [37.77, -122.41],
    "timestamp": 1715695390,
}


async def dispatch_send(url: str, room: str, message: dict[str, Any], name: str) -> dict[str, Any]:
    """``dispatch send --json``, as a field unit's script would run it."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "dispatch_tui",
        "send",
        "--url",
        url,
        "--name",
        name,
        "--room",
        room,
        "--json",
        json.dumps(message),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    reply = json.loads(out.decode().strip().splitlines()[-1])
    assert isinstance(reply, dict)
    return reply


def board_text(board: UnitsBoard) -> list[str]:
    """The board's rows as plain text, one string per unit."""
    return [
        "  ".join(str(cell) for cell in board.get_row_at(index)) for index in range(board.row_count)
    ]


async def test_unit_updates_fill_the_board_and_update_in_place(relay: Relay) -> None:
    app = console_app(relay.url, rooms=("dispatch_center", "field_ops"), unit_stale_after=1.5)
    async with running(app) as pilot:
        await pilot.press("f2")
        board = app.main.query_one(UnitsBoard)
        await dispatch_send(relay.url, "dispatch_center", STATUS, "Unit 23")
        await dispatch_send(relay.url, "field_ops", LOCATION, "Unit 45")
        await until(pilot, lambda: board.row_count == 2, "two units on the board")
        rows = board_text(board)
        assert rows[0].startswith("Unit 23  en_route  Main St & 1st Ave"), rows
        assert rows[1].startswith("Unit_45  unknown  37.77000, -122.41000"), rows

        on_scene = {**STATUS, "status": "on_scene", "location": "418 Elm Street"}
        await dispatch_send(relay.url, "dispatch_center", on_scene, "Unit 23")
        await until(
            pilot,
            lambda: board_text(board)[0].startswith("Unit 23  on_scene  418 Elm Street"),
            "Unit 23 updated in place",
        )
        assert board.row_count == 2, "an update does not add a row"
        assert app.state.floor.units["Unit 23"].room == "dispatch_center"
        # Structured unit messages are the board's, not chat lines.
        assert not any(
            "status_update" in line.text for line in app.state.rooms["dispatch_center"].lines
        )

        hostile = {"type": "status_update", "unit": "[b]U9[/b]", "status": "\x1b[31mlost\x07"}
        await dispatch_send(relay.url, "field_ops", hostile, "Unit 9")
        await until(pilot, lambda: board.row_count == 3, "the third unit")
        shown = [row for row in board_text(board) if "U9" in row]
        assert shown and shown[0].startswith("[b]U9[/b]  [31mlost  "), shown
        assert all("\x1b" not in row and "\x07" not in row for row in board_text(board))

        await until(
            pilot,
            lambda: any("STALE" in row for row in board_text(board) if row.startswith("Unit_45")),
            "a silent unit marked stale",
            15,
        )


async def test_board_refills_from_history_after_a_restart(relay: Relay) -> None:
    await dispatch_send(relay.url, "field_ops", {**STATUS, "status": "transporting"}, "Unit 23")
    app = console_app(relay.url, rooms=("dispatch_center", "field_ops"))
    async with running(app) as pilot:
        await until(pilot, lambda: "Unit 23" in app.state.floor.units, "the unit from history")
        assert app.state.floor.units["Unit 23"].status == "transporting"


async def test_an_emergency_alert_shows_a_banner_rings_once_and_goes_on_acknowledgement(
    relay: Relay,
) -> None:
    app = console_app(relay.url)
    async with running(app) as pilot, client(relay.url) as supervisor:
        banner = app.main.query_one(AlertBanner)
        assert not banner.display
        alert = {
            "type": "emergency_alert",
            "priority": "high",
            "message": "[bold]Shelter now[/] \x1b[2J tornado on Route 9",
        }
        await request(supervisor, "identify", {"name": "Sup. [red]Lee[/]"})
        await recv_event(supervisor, "identified")
        await request(supervisor, "send_to_all", {"message": alert})
        await recv_event(supervisor, "sent")
        await until(pilot, lambda: banner.display, "the alert banner")
        shown = rendered(banner)
        assert "EMERGENCY ALERT (HIGH)" in shown
        # The escape character is gone; what followed it is shown as the text it is.
        assert "[bold]Shelter now[/] [2J tornado on Route 9" in shown, shown
        assert "from Sup. [red]Lee[/]" in shown
        assert "\x1b" not in shown
        assert app.bells == 1
        await pilot.pause(0.3)
        assert app.bells == 1, "an alert rings once"

        await pilot.press("f9")
        await until(pilot, lambda: not banner.display, "the banner gone after F9")
        assert app.bells == 1


async def test_the_console_sends_an_alert_after_confirmation(relay: Relay) -> None:
    app = console_app(relay.url)
    async with running(app) as pilot, client(relay.url) as unit:
        await pilot.press("f8")
        await type_and_enter(pilot, "Evacuate sector 4", "#answer")
        await pilot.press("y")
        message = await recv_event(unit, "client_message")
        assert message["data"]["message"] == {
            "type": "emergency_alert",
            "priority": "high",
            "message": "Evacuate sector 4",
        }
        assert message["data"]["broadcast"] is True


async def pick(pilot: Any, option: str, title: str = "") -> None:
    """Wait for the picker titled ``title``, then choose the option that starts with ``option``."""

    def open_picker() -> bool:
        screen = pilot.app.screen
        return isinstance(screen, PickScreen) and title in screen.title_text

    await until(pilot, open_picker, f"the picker {title!r}")
    choices = pilot.app.screen.query_one(OptionList)
    labels = [str(choices.get_option_at_index(i).prompt) for i in range(choices.option_count)]
    index = next(i for i, label in enumerate(labels) if label.startswith(option))
    choices.highlighted = index
    await pilot.press("enter")


async def test_a_claim_on_one_console_shows_on_another(relay: Relay) -> None:
    first = console_app(relay.url)
    second = console_app(relay.url)
    async with running(first) as one, running(second) as two, client(relay.url) as source:
        await publish(source, "call-9", "caller", "my neighbour fell down the stairs")
        await until(one, lambda: "call-9" in first.state.calls, "the call on the first console")
        await until(two, lambda: "call-9" in second.state.calls, "the call on the second console")
        await one.press("f5")
        await pick(one, "call-9")
        card = second.main.calls.child("call-9")
        assert card is not None
        await until(
            two, lambda: "taken by Dispatcher 3" in rendered(card), "the claim on console 2"
        )
        assert second.state.floor.marks["call-9"].claimed_by == "Dispatcher 3"


async def test_an_unacknowledged_p1_is_escalated_to_the_supervisors(tmp_path: Path) -> None:
    relay = await start_relay(tmp_path, escalate_after=1.0)
    try:
        app = console_app(relay.url)
        async with (
            running(app) as pilot,
            client(relay.url) as supervisor,
            client(relay.url) as source,
        ):
            await request(supervisor, "join_room", {"room_name": "supervisors"})
            await recv_event(supervisor, "room_joined")
            await publish(source, "call-1", "caller", "my father collapsed and he is not breathing")
            await until(pilot, lambda: "call-1" in app.state.advice, "P1 advice for call-1")
            escalation = await recv_event(supervisor, "client_message", timeout=20)
            assert escalation["data"]["message"]["type"] == "escalation"
            assert escalation["data"]["message"]["call_id"] == "call-1"
            await until(
                pilot, lambda: app.state.floor.marks["call-1"].escalated, "escalated on the console"
            )
            await until(
                pilot,
                lambda: any("escalated" in note for note in app.notices) and app.bells == 2,
                "the escalation announced again, with the bell",
            )

            await publish(source, "call-2", "caller", "my wife is not breathing and she is blue")
            await until(pilot, lambda: "call-2" in app.state.advice, "P1 advice for call-2")
            await pilot.press("f6")
            await pick(pilot, "call-2")
            await until(
                pilot,
                lambda: app.state.floor.marks_of("call-2").acknowledged_by == "Dispatcher 3",
                "the acknowledgement back from the relay",
            )
            with pytest.raises(TimeoutError):
                await recv_event(supervisor, "client_message", timeout=3.0)
    finally:
        await relay.stop()


async def test_an_assignment_reaches_the_units_room_and_marks_it_dispatched(relay: Relay) -> None:
    app = console_app(relay.url, rooms=("dispatch_center", "field_ops"))
    async with running(app) as pilot, client(relay.url) as unit, client(relay.url) as source:
        await request(unit, "join_room", {"room_name": "field_ops"})
        await recv_event(unit, "room_joined")
        await dispatch_send(relay.url, "field_ops", {**STATUS, "status": "available"}, "Unit 23")
        await recv_event(unit, "client_message")
        await publish(source, "call-5", "caller", "there is a fire in the kitchen")
        await until(
            pilot,
            lambda: "Unit 23" in app.state.floor.units and "call-5" in app.state.calls,
            "unit and call",
        )

        await pilot.press("f7")
        await pick(pilot, "call-5")
        await pick(pilot, "Unit 23", "Send which unit")

        message = await recv_event(unit, "client_message")
        assert message["data"]["room"] == "field_ops"
        assignment = message["data"]["message"]
        assert assignment["type"] == "assignment"
        assert assignment["unit"] == "Unit 23" and assignment["call_id"] == "call-5"
        assert assignment["assigned_by"] == "Dispatcher 3"
        unit_state = app.state.floor.units["Unit 23"]
        assert (unit_state.status, unit_state.call_id) == ("dispatched", "call-5")


async def test_search_finds_a_transcript_word_and_a_chat_line(relay: Relay) -> None:
    app = console_app(relay.url, rooms=("dispatch_center", "field_ops"))
    async with running(app) as pilot, client(relay.url) as source:
        await publish(source, "call-3", "caller", "smoke is coming from the warehouse roof")
        await say(source, "Engine 12", "field_ops", "warehouse fire, second alarm [b]now[/b]")
        await until(
            pilot,
            lambda: "call-3" in app.state.calls and app.state.rooms["field_ops"].lines,
            "the transcript and the chat line",
        )
        await pilot.press("ctrl+f")
        await until(pilot, lambda: app.screen.query("#query"), "the search screen")
        app.screen.query_one("#query", Input).value = "warehouse"
        results = app.screen.query_one("#matches", OptionList)
        await until(pilot, lambda: results.option_count == 2, "two matches")
        labels = [str(results.get_option_at_index(i).prompt) for i in range(2)]
        chat = "field_ops Engine 12: warehouse fire, second alarm [b]now[/b]"
        turn = "call-3 caller: smoke is coming from the warehouse roof"
        assert any(chat in label for label in labels), labels
        assert any(turn in label for label in labels), labels

        chat_index = next(i for i, label in enumerate(labels) if "field_ops" in label)
        results.focus()
        results.highlighted = chat_index
        await pilot.press("enter")
        await until(
            pilot, lambda: app.state.selected == "field_ops", "the chat match's room opened"
        )


async def test_notifications_go_to_the_notice_line_not_over_the_panes(relay: Relay) -> None:
    app = console_app(relay.url)
    async with running(app) as pilot, client(relay.url) as source:
        await publish(source, "call-1", "caller", "my father collapsed and he is not breathing")
        await until(pilot, lambda: app.bells == 1, "the P1 alarm")
        notice = app.main.query_one(NoticeLine)
        await until(pilot, lambda: "P1 cardiac arrest on call-1" in rendered(notice), "the notice")
        assert not app._notifications, "no toast covers a pane"
        assert app.main.query(CallCard)


async def test_updates_missed_while_away_reach_the_board_after_a_reconnect(tmp_path: Path) -> None:
    """The update is stored while the console is away, so only the replay can bring it."""
    settings = RelaySettings(port=0, db=str(tmp_path / "journal.sqlite3"))
    async with relay_gone(settings) as (app, pilot, again):
        async with started(Relay(settings)) as elsewhere:
            await dispatch_send(elsewhere.url, "dispatch_center", STATUS, "Unit 23")
        assert "Unit 23" not in app.state.floor.units
        async with started(Relay(again)):
            await until(pilot, lambda: "Unit 23" in app.state.floor.units, "the replayed update")
            assert app.state.floor.units["Unit 23"].status == "en_route"
