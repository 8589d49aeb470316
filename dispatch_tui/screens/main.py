"""The dispatcher's main screen: rooms, live calls, chat and advice at once."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, Static

from dispatch_tui.client import LinkState
from dispatch_tui.console_state import ConsoleState
from dispatch_tui.untrusted import literal
from dispatch_tui.vocabulary import OPEN_ROLE_NAME
from dispatch_tui.widgets.advice import AdviceView
from dispatch_tui.widgets.alerts import AlertBanner, NoticeLine
from dispatch_tui.widgets.calls import CallsView
from dispatch_tui.widgets.chat import ChatLog
from dispatch_tui.widgets.rooms import RoomList
from dispatch_tui.widgets.status import StatusBar, status_line
from dispatch_tui.widgets.units import UnitsBoard

#: The panes in turn, one group per redraw tick: each screen update then carries a
#: fraction of the work, so a key typed meanwhile never waits behind all of it.
PANE_GROUPS: tuple[frozenset[str], ...] = (
    frozenset({"status", "rooms", "alerts"}),
    frozenset({"calls", "units"}),
    frozenset({"chat", "room_switched"}),
    frozenset({"advice"}),
)
ALL_PANES = frozenset().union(*PANE_GROUPS)

GAP_TEXT = (
    "Reconnected, but the messages sent while the console was away could not all be "
    "fetched: some may be missing here. `dispatch history` shows the stored ones."
)


def prompt_text(room: str | None) -> Text:
    """The room that Enter sends to, always shown beside the input."""
    if room is None:
        return Text("[no room] > ", style="bold red")
    return literal(f"[{room}] > ", "bold green")


class MainScreen(Screen[None]):
    """Draws the console state; the app owns the state and the connection."""

    CSS_PATH = "main.tcss"

    def __init__(self, name: str | None, max_lines: int, stale_after: float = 300.0) -> None:
        super().__init__()
        self.own_name = name
        self.max_lines = max_lines
        #: Seconds of silence after which the board marks a unit stale.
        self.stale_after = stale_after

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield Static(GAP_TEXT, id="gap", markup=False)
        yield AlertBanner(id="alert")
        with Horizontal(id="body"):
            with Vertical(id="left"):
                yield Label("ROOMS", classes="heading")
                yield RoomList(id="rooms")
                yield Label("CLIENTS", classes="heading")
                yield Static(id="clients")
            with Vertical(id="middle"):
                yield Label("CALLS", id="calls-title", classes="heading")
                yield CallsView(id="calls")
                yield UnitsBoard(id="units")
                yield Label(id="chat-title", classes="heading")
                yield ChatLog(self.max_lines, id="chat")
                with Horizontal(id="prompt-row"):
                    yield Static(prompt_text(None), id="prompt")
                    yield Input(placeholder="message to the room, Enter sends", id="message")
            with Vertical(id="right"):
                yield Label("ADVICE", classes="heading")
                yield AdviceView(id="advice")
        yield NoticeLine(id="notice")
        yield Footer()

    def on_mount(self) -> None:
        self.status_bar = self.query_one(StatusBar)
        self.gap_banner = self.query_one("#gap", Static)
        self.room_list = self.query_one(RoomList)
        self.calls = self.query_one(CallsView)
        self.advice = self.query_one(AdviceView)
        self.chat = self.query_one(ChatLog)
        self.chat_title = self.query_one("#chat-title", Label)
        self.prompt = self.query_one("#prompt", Static)
        self.clients = self.query_one("#clients", Static)
        self.alert_banner = self.query_one(AlertBanner)
        self.notice = self.query_one(NoticeLine)
        self.units = self.query_one(UnitsBoard)
        self.calls_title = self.query_one("#calls-title", Label)
        self.units.display = False
        self.query_one("#message", Input).focus()

    @property
    def showing_units(self) -> bool:
        return bool(self.units.display)

    def toggle_units(self) -> None:
        """The units board and the calls take turns in the top of the middle column."""
        self.units.display = not self.units.display
        self.calls.display = not self.units.display
        self.calls_title.update("UNITS" if self.units.display else "CALLS")

    def redraw(
        self,
        state: ConsoleState,
        link: LinkState,
        url: str,
        now: datetime,
        panes: frozenset[str] = ALL_PANES,
    ) -> None:
        """Redraw the parts of ``panes`` that changed since they were last drawn.

        ``url`` is the relay in use, which changes when the client fails over.
        """
        changed = state.changed & panes
        state.changed -= changed
        if "status" in changed:
            self.status_bar.update(
                status_line(
                    url, self.own_name, link, state.source, state.agent, state.detail, state.redis
                )
            )
            self.gap_banner.display = link is LinkState.GAP
        if "rooms" in changed:
            self.room_list.show(list(state.rooms.values()), state.selected)
        marks = state.floor.marks
        if "alerts" in changed:
            self.alert_banner.show(state.floor.alerts)
        if "calls" in changed:
            self.calls.show(state.calls_by_urgency(), state.advice, now, marks)
        if "units" in changed and self.showing_units:
            self.units.show(state.floor.board(), now, self.stale_after)
        if "advice" in changed:
            self.advice.show(state.cards(), state.calls, marks)
        if "room_switched" in changed:
            room = state.rooms.get(state.selected) if state.selected else None
            self.chat.show_lines(list(room.lines) if room else [], replace=True)
            self.prompt.update(prompt_text(state.selected))
            title = "CHAT \u00b7 " + (state.selected or "join a room with Ctrl+J")
            self.chat_title.update(literal(title))
        elif "chat" in changed:
            self.chat.show_lines(state.new_chat, replace=False)
        if "chat" in panes:
            state.new_chat = []

    def show_clients(self, clients: list[dict[str, object]]) -> None:
        text = Text()
        for client in clients:
            if text:
                text.append("\n")
            text.append_text(literal(str(client.get("name") or client.get("address")), "bold"))
            role = client.get("role")
            if role and role != OPEN_ROLE_NAME:
                text.append_text(literal(f"  {role}", "dim"))
        self.clients.update(text or Text("nobody else", style="dim"))
