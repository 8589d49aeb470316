"""The dispatcher's main screen: rooms, live calls, chat and advice at once.

The screen owns what the dispatcher does from it: its keys and the actions
behind them (rooms, chat, broadcasts, the floor's calls, units and alerts,
search). The app owns the connection, the state and the pace of redrawing,
and asks the screen to draw.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, Static

from dispatch_tui import events as ev
from dispatch_tui.client import ClientError, DispatchClient, LinkState
from dispatch_tui.console_state import Advice, Call, ChatLine, ConsoleState
from dispatch_tui.floor import ALERT, Unit
from dispatch_tui.screens.clients import ClientsScreen
from dispatch_tui.screens.confirm import ConfirmScreen
from dispatch_tui.screens.help import HelpScreen
from dispatch_tui.screens.pick import PickScreen
from dispatch_tui.screens.prompt import PromptScreen
from dispatch_tui.screens.search import SearchScreen
from dispatch_tui.untrusted import literal
from dispatch_tui.vocabulary import OPEN_ROLE_NAME
from dispatch_tui.widgets.advice import AdviceView, marks_text, priority_colour
from dispatch_tui.widgets.alerts import AlertBanner, NoticeLine
from dispatch_tui.widgets.calls import CallsView
from dispatch_tui.widgets.chat import ChatLog
from dispatch_tui.widgets.message import MessageInput
from dispatch_tui.widgets.rooms import RoomList
from dispatch_tui.widgets.status import StatusBar, status_line
from dispatch_tui.widgets.units import UnitsBoard, status_text

#: The panes in groups, each drawn at most every ``redraw_interval`` once it changed.
PANE_GROUPS: tuple[frozenset[str], ...] = (
    frozenset({"status", "rooms", "clients", "alerts"}),
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
    """Draws the console state and acts on it through the client; both are the app's."""

    CSS_PATH = "main.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Help"),
        Binding("ctrl+j", "join_room", "Join room", priority=True),
        Binding("ctrl+l", "leave_room", "Leave room", priority=True),
        Binding("ctrl+b", "broadcast", "Broadcast", priority=True),
        Binding("ctrl+u", "most_urgent", "Most urgent", priority=True),
        Binding("ctrl+down", "next_room(1)", "Next room", priority=True),
        Binding("ctrl+up", "next_room(-1)", "Previous room", priority=True),
        Binding("f4", "list_clients", "Clients"),
        Binding("f2", "toggle_units", "Units board"),
        Binding("f3,ctrl+f", "search", "Search", priority=True),
        Binding("f5", "take_call", "Take call"),
        Binding("f6", "acknowledge_advice", "Ack P1"),
        Binding("f7", "assign_unit", "Assign unit"),
        Binding("f8", "send_alert", "Send alert"),
        Binding("f9", "acknowledge_alert", "Ack alert"),
    ]

    def __init__(
        self,
        client: DispatchClient,
        state: ConsoleState,
        clock: Callable[[], datetime],
        *,
        max_lines: int,
        history_lines: int,
        stale_after: float,
    ) -> None:
        super().__init__()
        self.client = client
        self.state = state
        self.clock = clock
        self.max_lines = max_lines
        #: Chat messages fetched from history when a room is first opened.
        self.history_lines = history_lines
        #: Seconds of silence after which the board marks a unit stale.
        self.stale_after = stale_after
        self._history_loaded: set[str] = set()

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
                    yield MessageInput(placeholder="message to the room, Enter sends", id="message")
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
        self.message_field = self.query_one("#message", Input)
        self.units.display = False
        self.message_field.focus()

    @property
    def showing_units(self) -> bool:
        return bool(self.units.display)

    def redraw(
        self, link: LinkState, url: str, now: datetime, panes: frozenset[str] = ALL_PANES
    ) -> None:
        """Redraw the parts of ``panes`` that changed since they were last drawn.

        ``url`` is the relay in use, which changes when the client fails over.
        """
        state = self.state
        changed = state.changed & panes
        state.changed -= changed
        if "status" in changed:
            self.status_bar.update(
                status_line(
                    url,
                    self.client.name,
                    link,
                    state.source,
                    state.agent,
                    state.detail,
                    state.redis,
                    state.journal,
                )
            )
            self.gap_banner.display = link is LinkState.GAP
        if "rooms" in changed:
            self.room_list.show(list(state.rooms.values()), state.selected)
        if "clients" in changed:
            self.show_clients(state.clients)
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

    def show_notice(self, text: str, severity: SeverityLevel, timeout: float | None) -> None:
        """A notification on the line above the keys: a toast would cover a pane."""
        self.notice.show(text, severity, self.clock(), timeout)

    def show_clients(self, clients: tuple[ev.ClientEntry, ...]) -> None:
        text = Text()
        for client in clients:
            if text:
                text.append("\n")
            text.append_text(literal(client.name or client.address, "bold"))
            role = client.role
            if role and role != OPEN_ROLE_NAME:
                text.append_text(literal(f"  {role}", "dim"))
        self.clients.update(text or Text("nobody else", style="dim"))

    async def refresh_members(self) -> None:
        """Member counts of every room, and who is in the open one."""
        self.state.set_members((await self.client.list_rooms()).rooms)
        if self.state.selected is not None:
            listed = await self.client.list_clients(self.state.selected)
            self.state.set_clients(listed.clients)

    async def join_rooms(self, room_names: tuple[str, ...]) -> None:
        """Join the rooms the console starts in, and open the first."""
        for room_name in room_names:
            await self._join(room_name, select=room_name == room_names[0])

    async def _join(self, room_name: str, select: bool = True) -> None:
        try:
            reply = await self.client.join(room_name)
        except ClientError as exc:
            self.notify(f"could not join {room_name}: {exc}", severity="error", markup=False)
            return
        room = self.state.room(room_name)
        room.joined = True
        room.members = reply.clients
        if room_name not in self._history_loaded:
            # Every joined room's recent history, so the units board fills from all of them.
            with contextlib.suppress(ClientError):
                await self._load_history(room_name)
        if select:
            await self.open_room(room_name)
        self.state.changed.add("rooms")

    async def open_room(self, room_name: str) -> None:
        """Show a room's chat, fetching its recent history the first time."""
        room = self.state.room(room_name)
        if not room.joined:
            await self._join(room_name, select=False)
        if room_name not in self._history_loaded:
            with contextlib.suppress(ClientError):
                await self._load_history(room_name)
        self.state.select(room_name)
        with contextlib.suppress(ClientError):
            await self.refresh_members()

    async def _load_history(self, room_name: str) -> None:
        if not self.history_lines:
            return
        page = await self.client.history(room_name, limit=self.history_lines)
        self._history_loaded.add(room_name)
        welcome = self.client.welcome
        own_id = None if welcome is None else welcome.client_id
        self.state.load_history(room_name, page, own_id, self.clock())

    @work(group="rooms")
    async def switch_to(self, room_name: str) -> None:
        """Open a room, joining it first if the console is not in it."""
        await self.open_room(room_name)

    @work(group="rooms")
    async def leave(self, room_name: str) -> None:
        """Leave a room; if it was open, the first other joined room opens."""
        try:
            await self.client.leave(room_name)
        except ClientError as exc:
            self.notify(f"could not leave {room_name}: {exc}", severity="error", markup=False)
            return
        room = self.state.room(room_name)
        room.joined = False
        self._history_loaded.discard(room_name)
        self.notify(f"left {room_name}", markup=False)
        if self.state.selected == room_name:
            joined = sorted(name for name, room in self.state.rooms.items() if room.joined)
            if joined:
                await self.open_room(joined[0])
            else:
                self.state.selected = None
                self.state.changed.update({"room_switched", "rooms"})
        self.state.changed.add("rooms")

    def action_help(self) -> None:
        bindings = [b for b in self.BINDINGS if isinstance(b, Binding)]
        self.app.push_screen(HelpScreen([*bindings, Binding("ctrl+q", "quit", "Quit")]))

    @work(group="rooms")
    async def action_join_room(self) -> None:
        room_name = await self.app.push_screen_wait(PromptScreen("Join room", "room name"))
        if room_name:
            await self._join(room_name)

    def action_leave_room(self) -> None:
        if self.state.selected is None:
            self.notify("no room is open", severity="warning")
            return
        self.leave(self.state.selected)

    def action_most_urgent(self) -> None:
        room_name = self.state.most_urgent_room()
        if room_name is None:
            self.notify("no room has unread traffic")
            return
        self.switch_to(room_name)

    def action_next_room(self, step: int) -> None:
        names = sorted(name for name, room in self.state.rooms.items() if room.joined)
        if not names:
            return
        index = names.index(self.state.selected) if self.state.selected in names else -step
        self.switch_to(names[(index + step) % len(names)])

    @work(group="clients")
    async def action_list_clients(self) -> None:
        try:
            listed = await self.client.list_clients()
        except ClientError as exc:
            self.notify(f"could not list clients: {exc}", severity="error", markup=False)
            return
        await self.app.push_screen_wait(ClientsScreen(listed.clients))

    @work(group="broadcast")
    async def action_broadcast(self) -> None:
        """Broadcast the typed line (or ask for one), after a yes in a modal."""
        field = self.message_field
        text = field.value.strip()
        if not text:
            answer: str | None = await self.app.push_screen_wait(
                PromptScreen("Broadcast to everyone", "message")
            )
            text = answer or ""
        if not text:
            return
        question = "Send this to EVERY connected client?"
        if not await self.app.push_screen_wait(ConfirmScreen(question, text, "Send to all")):
            self.notify("broadcast cancelled: nothing was sent")
            return
        try:
            sent = await self.client.send_to_all(text)
        except ClientError as exc:
            self.notify(f"broadcast not sent: {exc}", severity="error", markup=False)
            return
        if field.value.strip() == text:
            field.value = ""
        self.state.add_broadcast(
            ChatLine(self.clock(), "you", text, own=True, broadcast=True, seq=sent.seq)
        )
        self.notify(f"broadcast sent to {sent.recipients} clients")

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter sends the typed line to the open room; an unsent line stays in the input."""
        if event.input.id != "message":
            return
        text = event.value.strip()
        if not text:
            return
        room_name = self.state.selected
        if room_name is None:
            self.notify("join a room first (Ctrl+J)", severity="warning")
            return
        event.input.value = ""
        try:
            sent = await self.client.send_to_room(room_name, text)
        except ClientError as exc:
            event.input.value = text
            self.notify(f"not sent to {room_name}: {exc}", severity="error", markup=False)
            return
        self.state.add_chat(room_name, ChatLine(self.clock(), "you", text, own=True, seq=sent.seq))

    def on_room_list_chosen(self, message: RoomList.Chosen) -> None:
        self.switch_to(message.room)

    def action_toggle_units(self) -> None:
        """The units board and the calls take turns in the top of the middle column."""
        self.units.display = not self.units.display
        self.calls.display = not self.units.display
        self.calls_title.update("UNITS" if self.units.display else "CALLS")
        self.state.changed.update({"units", "calls"})

    @work(group="search")
    async def action_search(self) -> None:
        """Search chat and transcripts; the chosen match's room opens or its call shows."""
        match = await self.app.push_screen_wait(SearchScreen(self.state))
        if match is None:
            return
        if match.room is not None:
            await self.open_room(match.room)
            return
        if self.showing_units:
            self.action_toggle_units()
        if match.call_id is None or not self.calls.reveal(match.call_id):
            self.notify(f"call {match.call_id} is no longer on the board", markup=False)

    async def _pick_call(self, title: str, calls: list[Call]) -> str | None:
        if not calls:
            self.notify("no call to choose from", severity="warning")
            return None
        choices = [(call.call_id, call_choice(call, self.state)) for call in calls]
        return await self.app.push_screen_wait(PickScreen(title, choices))

    @work(group="floor")
    async def action_take_call(self) -> None:
        """Claim a call for this dispatcher (choosing one already taken by you gives it back)."""
        calls = self.state.calls_by_urgency()
        unclaimed = [c for c in calls if not self.state.floor.marks_of(c.call_id).claimed_by]
        call_id = await self._pick_call(
            "Take which call?", unclaimed + [c for c in calls if c not in unclaimed]
        )
        if call_id is None:
            return
        mine = self.state.floor.marks_of(call_id).claimed_by == self.client.name
        await self._floor_request(
            "claim_call",
            {"call_id": call_id, "release": mine},
            f"{'released' if mine else 'took'} {call_id}",
        )

    @work(group="floor")
    async def action_acknowledge_advice(self) -> None:
        """Acknowledge a priority-1 card, so it is not escalated to the supervisors."""
        waiting = [
            advice
            for advice in self.state.cards()
            if advice.priority == 1
            and self.state.floor.marks_of(advice.call_id).acknowledged_by is None
        ]
        if not waiting:
            self.notify("no P1 advice waits for an acknowledgement")
            return
        call_ids = {advice.call_id for advice in waiting}
        calls = [call for call in self.state.calls_by_urgency() if call.call_id in call_ids]
        call_id = await self._pick_call("Acknowledge the P1 advice of which call?", calls)
        if call_id is None:
            return
        advice = self.state.advice[call_id]
        await self._floor_request(
            "acknowledge_advice",
            {"call_id": call_id, "advice_seq": advice.seq or None},
            f"acknowledged the P1 advice of {call_id}",
        )

    async def _floor_request(self, event: str, data: dict[str, Any], done: str) -> None:
        try:
            await self.client.request(event, data)
        except ClientError as exc:
            self.notify(f"not done: {exc}", severity="error", markup=False)
            return
        self.notify(done, markup=False)

    @work(group="floor")
    async def action_assign_unit(self) -> None:
        """Send a unit to a call: an ``assignment`` message in the room the unit was heard in."""
        call_id = await self._pick_call(
            "Assign a unit to which call?", self.state.calls_by_urgency()
        )
        if call_id is None:
            return
        units = self.state.floor.board()
        if not units:
            self.notify("no unit has been heard from yet", severity="warning")
            return
        choices = [(unit.name, unit_choice(unit)) for unit in units]
        name = await self.app.push_screen_wait(
            PickScreen(f"Send which unit to {call_id}?", choices)
        )
        if name is None:
            return
        unit = self.state.floor.units[name]
        room = unit.room or self.state.selected
        if room is None:
            self.notify("join a room first (Ctrl+J)", severity="warning")
            return
        message = assignment(unit.name, call_id, self.state.advice.get(call_id), self.client.name)
        try:
            await self.client.send_to_room(room, message)
        except ClientError as exc:
            self.notify(f"{unit.name} not assigned: {exc}", severity="error", markup=False)
            return
        self.state.floor.apply_message(message, self.client.name, room, self.clock())
        self.state.changed.add("units")
        self.notify(f"{unit.name} assigned to {call_id} (sent to {room})", markup=False)

    @work(group="floor")
    async def action_send_alert(self) -> None:
        """An emergency alert to every client, after a yes in a modal."""
        text = await self.app.push_screen_wait(
            PromptScreen("Emergency alert to everyone", "alert text")
        )
        if not text:
            return
        question = "Send this EMERGENCY ALERT to every connected client?"
        if not await self.app.push_screen_wait(ConfirmScreen(question, text, "Send alert")):
            self.notify("alert cancelled: nothing was sent")
            return
        alert = {"type": ALERT, "priority": "high", "message": text}
        try:
            sent = await self.client.send_to_all(alert)
        except ClientError as exc:
            self.notify(f"alert not sent: {exc}", severity="error", markup=False)
            return
        self.notify(f"emergency alert sent to {sent.recipients} clients")

    def action_acknowledge_alert(self) -> None:
        alert = self.state.floor.acknowledge_alert()
        if alert is None:
            self.notify("no emergency alert is waiting")
            return
        self.state.changed.add("alerts")
        self.notify(f"acknowledged the alert from {alert.sender}", markup=False)


def call_choice(call: Call, state: ConsoleState) -> Text:
    """A call in a picker: its id, its advice's priority, kind and place, and who has it."""
    advice = state.advice.get(call.call_id)
    label = literal(call.call_id, "bold")
    if advice is not None:
        kind = str(advice.suggestion.get("incident_type") or "unknown").replace("_", " ")
        label.append_text(literal(f"  P{advice.priority} {kind}", priority_colour(advice.priority)))
        label.append_text(literal(f"  {advice.suggestion.get('location') or ''}"))
    label.append("  ")
    label.append_text(marks_text(state.floor.marks.get(call.call_id)))
    return label


def unit_choice(unit: Unit) -> Text:
    label = literal(unit.name, "bold")
    label.append("  ")
    label.append_text(status_text(unit.status))
    label.append_text(literal(f"  {unit.location or ''}"))
    return label


def assignment(unit: str, call_id: str, advice: Advice | None, by: str | None) -> dict[str, Any]:
    """The structured message that sends a unit to a call (documented in docs/console.md)."""
    message: dict[str, Any] = {"type": "assignment", "unit": unit, "call_id": call_id}
    if advice is not None:
        suggestion = advice.suggestion
        message.update(
            priority=advice.priority,
            incident_type=suggestion.get("incident_type"),
            location=suggestion.get("location"),
        )
    if by:
        message["assigned_by"] = by
    return message
