"""The console against a real relay on port 0, driven by Textual's pilot."""

from __future__ import annotations

import gc
import json
import time
import weakref
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from rich.color import Color, ColorTriplet
from rich.console import Console, ConsoleOptions
from rich.panel import Panel
from textual.command import CommandList, CommandPalette
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Input
from textual.widgets.option_list import OptionDoesNotExist
from websockets.asyncio.client import ClientConnection

from dispatch_tui.client import LinkState
from dispatch_tui.collector import YOUNG_THRESHOLD
from dispatch_tui.screens.confirm import ConfirmScreen
from dispatch_tui.screens.prompt import PromptScreen
from dispatch_tui.server.agents.rules import RulesAgent
from dispatch_tui.server.pipeline import PipelineSettings
from dispatch_tui.server.relay import Relay, RelaySettings
from dispatch_tui.widgets import advice as advice_widgets
from dispatch_tui.widgets.advice import AdviceCard, AdviceView
from dispatch_tui.widgets.calls import CallCard, CallsView
from dispatch_tui.widgets.chat import ChatLog
from dispatch_tui.widgets.rooms import RoomList
from dispatch_tui.widgets.status import StatusBar
from tests.conftest import client, recv_event, request
from tests.console_helpers import (
    chat_text,
    console_app,
    painted,
    relay_gone,
    rendered,
    running,
    started,
    type_and_enter,
    until,
)


@pytest.fixture
async def relay(tmp_path: Path) -> AsyncIterator[Relay]:
    """A relay with the rules agent, so published transcripts bring advice."""
    server = Relay(
        RelaySettings(port=0, db=str(tmp_path / "journal.sqlite3")),
        agent=RulesAgent(),
        pipeline=PipelineSettings(idle_gap=0.2),
    )
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def option_text(options: RoomList, option_id: str) -> str:
    """An option's label; empty while the list is being rebuilt."""
    try:
        return str(options.get_option(option_id).prompt)
    except OptionDoesNotExist:
        return ""


async def publish(
    ws: ClientConnection, call_id: str, speaker: str, text: str, **extra: Any
) -> None:
    data = {"call_id": call_id, "speaker": speaker, "text": text, "is_final": True, **extra}
    await request(ws, "publish_transcript", data)
    await recv_event(ws, "sent")


async def say(ws: ClientConnection, name: str, room: str, message: Any) -> None:
    await request(ws, "identify", {"name": name})
    await recv_event(ws, "identified")
    await request(ws, "send_to_room", {"room_name": room, "message": message})
    await recv_event(ws, "sent")


async def test_interim_text_is_dim_and_replaced_in_place_by_the_final(relay: Relay) -> None:
    app = console_app(relay.url)
    async with running(app) as pilot, client(relay.url) as source:
        await publish(source, "call-7", "caller", "he fell off the", is_final=False, segment_id="a")
        await until(pilot, lambda: app.screen.query(CallCard), "a card for the call")
        card = app.screen.query_one(CallCard)
        await until(pilot, lambda: "he fell off the\u2026" in rendered(card), "the interim text")

        await publish(source, "call-7", "caller", "he fell off the ladder", segment_id="a")
        await until(pilot, lambda: "ladder" in rendered(card), "the final text")
        shown = rendered(card)
        assert "he fell off the\u2026" not in shown
        assert shown.count("he fell off the") == 1
        assert "call-7" in shown
        assert [line.final for line in app.state.calls["call-7"].lines] == [True]


async def test_a_call_card_grows_a_few_rows_at_a_time_up_to_its_share(relay: Relay) -> None:
    """Each growth lays the screen out again, so a card grows by steps, not by every turn."""
    from dispatch_tui.widgets.calls import ROWS_SEVERAL, ROWS_STEP

    app = console_app(relay.url)
    async with running(app) as pilot, client(relay.url) as source:
        await publish(source, "call-1", "caller", "first words")
        await publish(source, "call-2", "caller", "another call")
        await until(pilot, lambda: len(app.screen.query(CallCard)) == 2, "two cards")
        card = next(c for c in app.screen.query(CallCard) if c.call_id == "call-1")
        heights = set()
        for turn in range(ROWS_SEVERAL + 3):
            await publish(source, "call-1", "caller", f"turn {turn}")
            await until(pilot, lambda n=turn: f"turn {n}" in rendered(card), f"turn {turn}")
            heights.add(card.outer_size.height - 2)
        assert heights == set(range(ROWS_STEP, ROWS_SEVERAL + 1, ROWS_STEP)), heights
        assert "turn 0" not in rendered(card), "the oldest turns scroll away once it is full"


async def test_advice_card_shows_its_fields_and_a_p1_rings_once(relay: Relay) -> None:
    app = console_app(relay.url)
    async with running(app) as pilot, client(relay.url) as source:
        await publish(source, "call-1", "caller", "my father collapsed and he is not breathing")
        await publish(source, "call-1", "caller", "we are at 27 oak avenue please hurry")
        await until(pilot, lambda: app.screen.query(AdviceCard), "an advice card")
        card = app.screen.query_one(AdviceCard)
        await until(pilot, lambda: "27 oak avenue" in rendered(card), "the location on the card")
        shown = rendered(card)
        for expected in ("P1 CARDIAC ARREST", "call-1", "ask", "do", "compressions", "why"):
            assert expected in shown, expected
        assert "\u201cmy father collapsed and he is not breathing\u201d" in shown
        assert app.bells == 1

        await publish(source, "call-1", "dispatcher", "is there an AED defibrillator nearby?")
        await publish(source, "call-1", "caller", "no and his lips are turning blue")
        await until(
            pilot, lambda: "AED (defibrillator)" not in rendered(card), "asked question dropped"
        )
        assert app.bells == 1, "a call already at P1 rings only once"

        await publish(
            source, "call-2", "caller", "fire in the kitchen and my son is trapped upstairs"
        )
        await until(pilot, lambda: app.bells == 2, "a second P1 call to ring")
        cards = list(app.screen.query(AdviceCard))
        assert len(cards) == 2


async def test_a_layout_does_not_render_an_unchanged_advice_card_again(
    relay: Relay, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rendering a card's panel takes milliseconds; a repaint or a layout reads its rows."""
    app = console_app(relay.url)
    async with running(app) as pilot, client(relay.url) as source:
        await publish(source, "call-1", "caller", "my father collapsed and he is not breathing")
        await until(pilot, lambda: app.screen.query(AdviceCard), "an advice card")
        card = app.screen.query_one(AdviceCard)
        await until(pilot, lambda: "P1" in painted(card), "the card painted")
        rendered_again: list[int] = []
        render = advice_widgets.card_strips

        def counting(console: Console, options: ConsoleOptions, panel: Panel) -> list[Strip]:
            rendered_again.append(options.max_width)
            return render(console, options, panel)

        monkeypatch.setattr(advice_widgets, "card_strips", counting)
        panel = card.card
        card.refresh()  # a repaint, as a card gets when a new one moves it
        app.screen.refresh(layout=True)
        await pilot.pause()
        await pilot.pause()
        assert card.card is panel, "the card's own content changed meanwhile"
        assert rendered_again == []
        shown = painted(card)
        assert "P1 CARDIAC ARREST" in shown and "╭" in shown, shown


async def test_cards_keep_their_width_when_their_pane_starts_to_scroll(relay: Relay) -> None:
    """A scrollbar that appears would narrow every card: all measured and drawn again at once."""
    app = console_app(relay.url)
    async with running(app) as pilot, client(relay.url) as source:
        await publish(source, "call-0", "caller", "my father collapsed and he is not breathing")
        await until(pilot, lambda: app.screen.query(AdviceCard), "an advice card")
        first = app.screen.query_one(AdviceCard)
        calls = app.screen.query_one("#calls")
        first_call = app.screen.query_one(CallCard)
        await until(pilot, lambda: first.size.width and first_call.size.width, "both laid out")
        widths = (first.size.width, first_call.size.width)
        advice = app.screen.query_one("#advice")
        for n in range(1, 12):
            await publish(source, f"call-{n}", "caller", "fire in the kitchen, smoke everywhere")
        await until(
            pilot,
            lambda: advice.max_scroll_y > 0 and calls.max_scroll_y > 0,
            "both panes to scroll",
        )
        assert (first.size.width, first_call.size.width) == widths


async def test_a_new_call_in_a_full_pane_takes_over_the_oldest_card_and_shows_only_its_own(
    relay: Relay,
) -> None:
    """Swapping the oldest call for a new one mounts and removes no widget: the card is reused."""
    app = console_app(relay.url)
    async with running(app) as pilot, client(relay.url) as source:
        calls = app.screen.query_one(CallsView)
        advice = app.screen.query_one(AdviceView)
        advice_cap = 2 * app.state.max_calls
        for n in range(advice_cap):
            await publish(source, f"call-{n}", "caller", f"fire in house {n}, smoke everywhere")
        last = f"call-{advice_cap - 1}"
        await until(
            pilot,
            lambda: (card := advice.child(last)) is not None and last in rendered(card),
            "every call's advice drawn",
        )
        oldest_call = calls.child(min(app.state.calls, key=lambda c: app.state.calls[c].last_seq))
        oldest_advice = advice.child("call-0")
        assert oldest_call is not None and oldest_advice is not None
        await until(pilot, lambda: "house 0" in rendered(oldest_advice), "the oldest advice")

        await publish(source, "call-new", "caller", "my father collapsed and is not breathing")
        await until(pilot, lambda: advice.child("call-new") is not None, "the new call's advice")
        assert calls.child("call-new") is oldest_call and advice.child("call-new") is oldest_advice
        assert len(app.screen.query(CallCard)) == app.state.max_calls
        assert len(app.screen.query(AdviceCard)) == advice_cap
        await until(pilot, lambda: "P1" in rendered(oldest_advice), "the new advice on the card")
        for card in (oldest_call, oldest_advice):
            shown = rendered(card)
            assert "call-new" in shown and "not breathing" in shown, shown
            assert "house" not in shown, shown


async def test_switching_rooms_shows_that_rooms_chat_and_clears_unread(relay: Relay) -> None:
    app = console_app(relay.url, rooms=("dispatch_center", "field_ops"))
    async with running(app) as pilot, client(relay.url) as unit:
        joined = app.state.rooms
        await until(pilot, lambda: "field_ops" in joined and joined["field_ops"].joined, "joined")
        await say(unit, "Unit 23", "field_ops", "urgent: need backup at the bridge")
        room_list = app.screen.query_one(RoomList)
        await until(pilot, lambda: app.state.rooms["field_ops"].unread == 1, "an unread message")
        await until(
            pilot,
            lambda: "1 new" in option_text(room_list, "field_ops"),
            "the unread count in the room list",
        )
        assert app.state.rooms["field_ops"].urgent == 1

        await pilot.press("ctrl+u")
        await until(pilot, lambda: app.state.selected == "field_ops", "the most urgent room")
        chat = app.screen.query_one(ChatLog)
        await until(pilot, lambda: "need backup at the bridge" in chat_text(chat), "its chat")
        assert "Unit 23" in chat_text(chat)
        assert app.state.rooms["field_ops"].unread == 0
        assert "[field_ops] >" in rendered(app.screen.query_one("#prompt"))

        await pilot.press("ctrl+up")
        await until(pilot, lambda: app.state.selected == "dispatch_center", "the previous room")
        await until(pilot, lambda: "need backup" not in chat_text(chat), "the other room's chat")


async def test_a_room_opens_with_its_history(relay: Relay) -> None:
    async with client(relay.url) as unit:
        await say(unit, "Unit 23", "dispatch_center", "said before the console started")
    app = console_app(relay.url)
    async with running(app) as pilot:
        chat = app.screen.query_one(ChatLog)
        await until(pilot, lambda: "said before the console started" in chat_text(chat), "history")
        assert "Unit 23" in chat_text(chat)


async def test_enter_sends_chat_to_the_selected_room(relay: Relay) -> None:
    app = console_app(relay.url)
    async with running(app) as pilot, client(relay.url) as unit:
        await request(unit, "join_room", {"room_name": "dispatch_center"})
        await recv_event(unit, "room_joined")
        await type_and_enter(pilot, "copy, CPR instructions given")
        message = await recv_event(unit, "client_message")
        assert message["data"]["message"] == "copy, CPR instructions given"
        assert message["data"]["room"] == "dispatch_center"
        assert message["data"]["name"] == "Dispatcher 3"
        chat = app.screen.query_one(ChatLog)
        await until(
            pilot, lambda: "you  copy, CPR instructions given" in chat_text(chat), "own line"
        )
        assert app.screen.query_one("#message", Input).value == ""


class _Node:
    """A weakly referenceable object held only by a reference cycle."""

    def __init__(self, cycle: list[object]) -> None:
        cycle.append(self)


async def test_typing_repaints_the_line_without_laying_the_screen_out(relay: Relay) -> None:
    """A keystroke costs a repaint of the input, not a layout of every pane; long text scrolls."""
    app = console_app(relay.url)
    async with running(app) as pilot:
        field = app.screen.query_one("#message", Input)
        field.focus()
        words = " ".join(f"word{n}" for n in range(25))
        await pilot.press(words[0])
        await pilot.pause()
        layouts = field._layout_updates  # how often the input asked for a layout
        await pilot.press(*words[1:])
        await pilot.pause()
        assert field.value == words
        # Once at most, when the text first outgrows the line (Textual's plain input: every key).
        assert field._layout_updates - layouts <= 1, "typing laid the screen out per key"
        await until(pilot, lambda: "word24" in rendered(field), "the end of a long line in view")
        assert "word0 " not in rendered(field)
        app.screen.refresh(layout=True)  # a pane changed: the screen is laid out again
        await pilot.pause()
        await pilot.press(*" more")
        await pilot.pause()
        # Input's hidden scrollbar would now be moved (and redrawn) by every key.
        assert not field.show_horizontal_scrollbar
        await until(
            pilot, lambda: "word24 more" in rendered(field), "the line to follow the cursor"
        )


async def test_the_console_collects_garbage_itself_between_keys_and_hands_back_on_exit(
    relay: Relay,
) -> None:
    """Python's automatic collection is off while the console runs; each key is noted."""
    app = console_app(relay.url)
    async with running(app) as pilot:
        assert not gc.isenabled()
        app.screen.query_one("#message", Input).focus()
        before = time.monotonic()
        await pilot.press("x")
        await pilot.pause()
        assert app.gaps.last_key >= before
        garbage: list[object] = []
        garbage.append(garbage)  # a cycle: only a collection frees it
        marker = weakref.ref(_Node(garbage))
        del garbage
        allocated = [[] for _ in range(YOUNG_THRESHOLD)]  # enough for a young collection
        await until(pilot, lambda: marker() is None, "the console to collect the cycle")
        del allocated
    assert gc.isenabled()


async def test_while_someone_types_the_panes_wait_for_the_gap_after_each_key(
    relay: Relay,
) -> None:
    """A key's screen update carries no pane: what changed meanwhile is drawn once the key is."""
    app = console_app(relay.url)
    async with running(app) as pilot:
        app.screen.query_one("#message", Input).focus()
        since_key: list[float] = []
        draw = app.main.redraw

        def noting_when(*args: Any) -> None:
            since_key.append(app.gaps.clock() - app.gaps.last_key)
            draw(*args)

        app.main.redraw = noting_when  # type: ignore[method-assign]
        for _ in range(12):
            app.state.changed.add("status")
            await pilot.press("x")
            await pilot.pause(0.06)
        assert len(since_key) >= 6, "the panes were not drawn between the keys"
        assert min(since_key) >= 0.03, f"a pane was drawn with a key: {sorted(since_key)[:3]}"


async def test_broadcast_asks_first_and_sends_only_after_yes(relay: Relay) -> None:
    app = console_app(relay.url)
    async with running(app) as pilot, client(relay.url) as unit:
        await request(unit, "join_room", {"room_name": "dispatch_center"})
        await recv_event(unit, "room_joined")
        app.screen.query_one("#message", Input).value = "all units: stand by"
        await pilot.press("ctrl+b")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        await pilot.press("n")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen), "the modal to close")

        await type_and_enter(pilot, "room marker")
        first = await recv_event(unit, "client_message")
        assert first["data"]["message"] == "room marker", "nothing was broadcast after no"

        app.screen.query_one("#message", Input).value = "all units: stand by"
        await pilot.press("ctrl+b")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        await pilot.press("y")
        message = await recv_event(unit, "client_message")
        assert message["data"]["message"] == "all units: stand by"
        assert message["data"]["broadcast"] is True


async def run_palette_command(pilot: Any, query: str) -> None:
    await pilot.press("ctrl+p")
    await until(pilot, lambda: isinstance(pilot.app.screen, CommandPalette), "the palette")
    pilot.app.screen.query_one(Input).value = query
    hits = pilot.app.screen.query_one(CommandList)
    await until(pilot, lambda: hits.option_count and hits.highlighted is not None, "hits")
    await pilot.press("enter")


async def test_palette_joins_and_leaves_rooms(relay: Relay) -> None:
    app = console_app(relay.url)
    async with running(app) as pilot, client(relay.url) as observer:
        await run_palette_command(pilot, "Join room")
        await until(pilot, lambda: isinstance(app.screen, PromptScreen), "the room prompt")
        await type_and_enter(pilot, "supervisors", "#answer")
        await until(pilot, lambda: app.state.selected == "supervisors", "the new room open")
        await request(observer, "list_rooms")
        assert (await recv_event(observer, "rooms_list"))["data"]["rooms"].get("supervisors") == 1

        await run_palette_command(pilot, "Leave supervisors")
        await until(pilot, lambda: not app.state.rooms["supervisors"].joined, "the room left")
        await until(pilot, lambda: app.state.selected == "dispatch_center", "back in a joined room")
        await request(observer, "list_rooms")
        assert "supervisors" not in (await recv_event(observer, "rooms_list"))["data"]["rooms"]


async def test_after_the_relay_restarts_missed_messages_are_shown(tmp_path: Path) -> None:
    settings = RelaySettings(port=0, db=str(tmp_path / "journal.sqlite3"))
    async with relay_gone(settings) as (app, pilot, again):
        field = app.screen.query_one("#message", Input)
        await type_and_enter(pilot, "sent while down")
        await until(pilot, lambda: field.value == "sent while down", "the unsent line kept")
        async with started(Relay(again)) as second:
            async with client(second.url) as unit:
                for number in range(3):
                    await say(unit, "Unit 23", "dispatch_center", f"while you were away {number}")
            chat = app.screen.query_one(ChatLog)
            await until(pilot, lambda: "while you were away 2" in chat_text(chat), "missed lines")
            assert all(f"while you were away {n}" in chat_text(chat) for n in range(3))
            await until(pilot, lambda: app.link in (LinkState.RECOVERED, LinkState.CONNECTED), "up")
            assert not app.screen.query_one("#gap").display


async def test_chat_with_markup_and_escapes_is_shown_literally(relay: Relay) -> None:
    app = console_app(relay.url)
    async with running(app) as pilot, client(relay.url) as unit:
        await say(unit, "[blink]Evil[/]", "dispatch_center", "[bold red]X[/] \x1b[2J done")
        chat = app.screen.query_one(ChatLog)
        await until(pilot, lambda: "done" in chat_text(chat), "the hostile line")
        shown = chat_text(chat)
        assert "[bold red]X[/]" in shown
        assert "[blink]Evil[/]" in shown
        assert "\x1b" not in shown
        styles = [segment.style for strip in chat.lines for segment in strip if "X" in segment.text]
        assert not any(
            style is not None and style.color is not None and style.color.name == "red"
            for style in styles
        )
        assert "\x1b" not in app.export_screenshot()


def painted_colour(widget: Widget, text: str) -> ColorTriplet | None:
    """The colour the widget paints ``text`` in, or None while it is not on the widget."""
    for strip in widget.render_lines(Region(0, 0, *widget.outer_size)):
        for segment in strip:
            if text in segment.text and segment.style and segment.style.color:
                return segment.style.color.get_truecolor()
    return None


async def test_the_status_bar_shows_the_source_state_the_relay_sends(relay: Relay) -> None:
    """``reconnecting`` (no calls come) is red, ``off`` dim, ``connected`` like the rest."""
    app = console_app(relay.url)
    async with running(app) as pilot:
        bar = app.screen.query_one(StatusBar)
        await until(pilot, lambda: painted_colour(bar, "source: off"), "the relay's status")
        plain = painted_colour(bar, "agent: ")
        red = Color.parse("red").get_truecolor(app.ansi_theme)
        off = painted_colour(bar, "source: off")
        assert plain is not None and off is not None
        assert sum(off) < sum(plain), f"off is dim: {off} against {plain}"

        relay.hub.set_status(source="reconnecting", detail="connection refused")
        await until(pilot, lambda: painted_colour(bar, "source: reconnecting"), "reconnecting")
        assert painted_colour(bar, "source: reconnecting") == red

        relay.hub.set_status(source="connected", detail=None)
        await until(pilot, lambda: painted_colour(bar, "source: connected"), "the source back")
        assert painted_colour(bar, "source: connected") == plain


def test_settings_reject_nonsense() -> None:
    from pydantic import ValidationError

    from dispatch_tui.app import ConsoleSettings

    with pytest.raises(ValidationError):
        ConsoleSettings(max_lines=0)
    assert json.loads(ConsoleSettings().model_dump_json())["rooms"] == ["dispatch_center"]


async def test_the_chat_lays_the_screen_out_only_when_its_scrollbar_comes(relay: Relay) -> None:
    """Lines that fit, or lines past the first overflow, repaint the log; the log still scrolls."""
    app = console_app(relay.url, max_lines=200)
    async with running(app) as pilot, client(relay.url) as unit:
        chat = app.screen.query_one(ChatLog)
        await request(unit, "identify", {"name": "Unit 23"})
        await recv_event(unit, "identified")
        room = {"room_name": "dispatch_center"}
        layouts = 0
        for n in range(120):
            await request(unit, "send_to_room", {**room, "message": f"line {n}"})
            await recv_event(unit, "sent")
            if n % 10 == 9:  # let the chat draw what came, a batch at a time
                await until(pilot, lambda n=n: f"line {n}" in chat_text(chat), f"line {n}")
            if n == 59:
                layouts = chat._layout_updates
        assert chat._layout_updates - layouts <= 1, "every batch of lines laid the screen out"
        assert chat.show_vertical_scrollbar and chat.scroll_y == chat.max_scroll_y
        assert len(chat.lines) == 120
        assert chat.vertical_scrollbar.window_virtual_size == chat.virtual_size.height
