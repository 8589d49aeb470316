"""The dispatcher console: a Textual app over one :class:`DispatchClient`.

The app owns the connection and the :class:`ConsoleState`; relay events are
folded into the state as they come, and the screen is redrawn at a fixed pace,
so a burst of traffic never delays a keystroke.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field
from rich.text import Text
from textual import events, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.notifications import SeverityLevel
from textual.widgets import Input

from dispatch_tui import events as ev
from dispatch_tui.cli.exit_codes import Exit
from dispatch_tui.client import ClientError, ConnectionFailed, DispatchClient, LinkState
from dispatch_tui.console_state import (
    Advice,
    Call,
    ChatLine,
    ConsoleState,
)
from dispatch_tui.floor import ALERT, Unit
from dispatch_tui.screens.clients import ClientsScreen
from dispatch_tui.screens.confirm import ConfirmScreen
from dispatch_tui.screens.help import HelpScreen
from dispatch_tui.screens.main import ALL_PANES, PANE_GROUPS, MainScreen
from dispatch_tui.screens.pick import PickScreen
from dispatch_tui.screens.prompt import PromptScreen
from dispatch_tui.screens.search import SearchScreen
from dispatch_tui.untrusted import literal, strip_controls
from dispatch_tui.widgets.advice import marks_text, priority_colour
from dispatch_tui.widgets.rooms import RoomList
from dispatch_tui.widgets.units import status_text


class ConsoleSettings(BaseModel):
    """What the console is told at start; the connection itself is the client's."""

    model_config = ConfigDict(frozen=True)

    rooms: tuple[str, ...] = ("dispatch_center",)
    #: Lines kept per pane (chat per room, transcript per call); older ones are in history.
    max_lines: int = Field(default=500, ge=10)
    #: Chat messages fetched from history when a room is opened.
    history_lines: int = Field(default=50, ge=0, le=1000)
    redraw_interval: float = Field(default=0.1, gt=0)
    poll_interval: float = Field(default=5.0, gt=0)
    bell: bool = True
    #: Keep retrying the first connection instead of giving up (the console
    #: always reconnects once it has been connected).
    wait_for_relay: bool = False
    #: Seconds without a word from a unit before the board marks it stale.
    unit_stale_after: float = Field(default=300.0, gt=0)


def utc_now() -> datetime:
    return datetime.now(UTC)


Command = tuple[str, str, Callable[[], Any]]


class ConsoleCommands(Provider):
    """Palette entries for rooms and messages; titles are plain text, never markup."""

    def _commands(self) -> list[Command]:
        app = self.app
        return app.palette_commands() if isinstance(app, DispatchApp) else []

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(Content(title), callback, text=title, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, Content(title), callback, text=title, help=help_text)


class DispatchApp(App[None]):
    """The full-screen console; ``dispatch tui`` and ``dispatch demo`` run it."""

    TITLE = "dispatch"
    COMMANDS = App.COMMANDS | {ConsoleCommands}
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
        settings: ConsoleSettings | None = None,
        *,
        clock: Callable[[], datetime] = utc_now,
        connect: bool = True,
    ) -> None:
        super().__init__()
        self.client = client
        self.settings = settings or ConsoleSettings()
        self.clock = clock
        self.connect_on_mount = connect
        self.state = ConsoleState(max_lines=self.settings.max_lines)
        self.link = client.state
        self.bells = 0
        #: Why the console ended on its own: (exit code, message) for the CLI.
        self.failure: tuple[int, str] | None = None
        self._history_loaded: set[str] = set()
        #: Until when panes wait so that a key just pressed is drawn on its own.
        self._typing_until = 0.0
        self._deferred_redraws = 0
        self._next_pane = itertools.cycle(PANE_GROUPS)
        #: The latest notifications, newest last, as shown on the notice line.
        self.notices: list[str] = []
        client.on_state = self._link_changed

    @property
    def main(self) -> MainScreen:
        """The main screen, kept by the app so late workers never look it up by name."""
        return self._main

    async def on_mount(self) -> None:
        self._main = MainScreen(
            self.client.name, self.settings.max_lines, self.settings.unit_stale_after
        )
        await self.push_screen(self._main)
        self.state.changed.update({"status", "rooms", "calls", "advice", "room_switched"})
        self.set_interval(self.settings.redraw_interval / len(PANE_GROUPS), self._redraw_a_pane)
        self.set_interval(1.0, self._tick)
        _calm_the_collector()
        if self.connect_on_mount:
            self._run_link()

    async def on_unmount(self) -> None:
        await self.client.close()

    async def on_event(self, event: events.Event) -> None:
        """Note each key, so the panes let the screen draw it first."""
        if isinstance(event, events.Key):
            self._typing_until = time.monotonic() + _KEY_FIRST
        await super().on_event(event)

    def redraw(self, panes: frozenset[str] = ALL_PANES) -> None:
        """Draw what changed in ``panes``; new priority-1 advice rings as its card is drawn."""
        if not self.screen_stack:  # starting or closing: nothing to draw on
            return
        if self.screen is not self.main and not self.state.changed:
            return
        self.main.redraw(self.state, self.link, self.client.url, self.clock(), panes)
        if "advice" in panes:
            alarms, self.state.alarms = self.state.alarms, []
            for advice in alarms:
                self.alarm(advice.call_id, advice.suggestion)
            escalated, self.state.floor.new_escalations = self.state.floor.new_escalations, []
            for call_id in escalated:
                self._ring()
                self.notify(
                    f"P1 on {call_id} was not acknowledged: escalated to the supervisors",
                    severity="error",
                    markup=False,
                )
        if "alerts" in panes:
            for _ in self.state.floor.new_alerts:
                self._ring()
            self.state.floor.new_alerts = []

    def _redraw_a_pane(self) -> None:
        """Draw the next group of panes, unless a key was just pressed.

        Right after a key the panes wait (at most a few ticks): the screen
        update that shows the key then carries nothing else, so typing stays
        quick however busy the floor is.
        """
        if time.monotonic() < self._typing_until and self._deferred_redraws < _MAX_DEFERRED:
            self._deferred_redraws += 1
            return
        self._deferred_redraws = 0
        self.redraw(next(self._next_pane))

    def alarm(self, call_id: str, suggestion: dict[str, Any]) -> None:
        """Ring the bell once and raise a notification for a new priority-1 call."""
        self._ring()
        kind = str(suggestion.get("incident_type") or "unknown").replace("_", " ")
        where = suggestion.get("location") or "location unknown"
        self.notify(
            strip_controls(f"P1 {kind} on {call_id}: {where}"),
            title="Priority 1",
            severity="error",
            timeout=15,
            markup=False,
        )

    def _ring(self) -> None:
        if self.settings.bell:
            self.bells += 1
            self.bell()

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Notifications go to the line above the keys: a toast would cover a pane."""
        text = strip_controls(f"{title}: {message}" if title else message)
        self.notices.append(text)
        del self.notices[:-_NOTICES_KEPT]
        if not self.is_running or not hasattr(self, "_main"):
            return
        self.main.notice.show(text, severity, self.clock(), timeout)

    def _tick(self) -> None:
        if self.state.calls:
            self.state.changed.add("calls")
        if self.state.floor.units:
            self.state.changed.add("units")

    def _link_changed(self, link: LinkState) -> None:
        self.link = link
        self.state.changed.add("status")

    def handle_event(self, event: dict[str, Any]) -> None:
        """Fold one relay event into the state; drawn at the next redraw."""
        self.state.apply(event, self.clock())

    @work(exclusive=True, group="link")
    async def _run_link(self) -> None:
        """Connect (retrying until the relay answers), join, then follow events."""
        waits = self.client.backoff.delays()
        while self.client.state is LinkState.CONNECTING:
            try:
                await self.client.connect()
            except ConnectionFailed as exc:
                if not self.settings.wait_for_relay:
                    self.failure = (Exit.CONNECTION, str(exc))
                    self.exit(return_code=Exit.CONNECTION)
                    return
                self.state.detail = str(exc)
                self.state.changed.add("status")
                await asyncio.sleep(next(waits))
            except ClientError as exc:
                self.failure = (Exit.REFUSED, f"relay refused: {exc}")
                self.exit(return_code=Exit.REFUSED)
                return
        self.state.detail = None
        self._link_changed(LinkState.CONNECTED)
        for room in self.settings.rooms:
            await self._join(room, select=room == self.settings.rooms[0])
        self._poll()
        async for event in self.client.events():
            self.handle_event(event)

    @work(exclusive=True, group="poll")
    async def _poll(self) -> None:
        """Refresh member counts and the selected room's clients now and then."""
        while True:
            if self.link in (LinkState.CONNECTED, LinkState.RECOVERED, LinkState.GAP):
                with contextlib.suppress(ClientError):
                    await self.refresh_members()
            await asyncio.sleep(self.settings.poll_interval)

    async def refresh_members(self) -> None:
        reply = await self.client.request("list_rooms")
        self.state.set_members((reply.get("data") or {}).get("rooms"))
        if self.state.selected is not None:
            reply = await self.client.request("list_clients", {"room_name": self.state.selected})
            clients = (reply.get("data") or {}).get("clients") or []
            self.main.show_clients([c for c in clients if isinstance(c, dict)])

    async def _join(self, room_name: str, select: bool = True) -> bool:
        try:
            reply = await self.client.join(room_name)
        except ClientError as exc:
            self.notify(f"could not join {room_name}: {exc}", severity="error", markup=False)
            return False
        room = self.state.room(room_name)
        room.joined = True
        room.members = int((reply.get("data") or {}).get("clients") or room.members)
        if room_name not in self._history_loaded:
            # Every joined room's recent history, so the units board fills from all of them.
            with contextlib.suppress(ClientError):
                await self._load_history(room_name)
        if select:
            await self.open_room(room_name)
        self.state.changed.add("rooms")
        return True

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
        if not self.settings.history_lines:
            return
        reply = await self.client.history(room_name, limit=self.settings.history_lines)
        self._history_loaded.add(room_name)
        page = ev.parse_event(reply)
        if isinstance(page, ev.History):
            welcome = self.client.welcome
            own_id = None if welcome is None else welcome.client_id
            self.state.load_history(room_name, page, own_id, self.clock())

    def palette_commands(self) -> list[Command]:
        """What the command palette offers, rooms included by name."""
        commands: list[Command] = [
            ("Join room…", "join a room by name", self.action_join_room),
            ("Leave room", "leave the room shown in the prompt", self.action_leave_room),
            ("Broadcast to all…", "send a message to every client", self.action_broadcast),
            ("List clients", "everyone connected to the relay", self.action_list_clients),
            (
                "Most urgent room",
                "open the room with the most urgent traffic",
                self.action_most_urgent,
            ),
            ("Units board", "show or hide the units board", self.action_toggle_units),
            ("Search…", "search chat and transcripts", self.action_search),
            ("Take call…", "claim a call for yourself", self.action_take_call),
            ("Acknowledge P1…", "acknowledge priority-1 advice", self.action_acknowledge_advice),
            ("Assign unit…", "send a unit to a call", self.action_assign_unit),
            ("Send emergency alert…", "an alert to every client", self.action_send_alert),
            ("Acknowledge alert", "take the alert off the banner", self.action_acknowledge_alert),
        ]
        for room in sorted(self.state.rooms.values(), key=lambda room: room.name):
            if room.name != self.state.selected:
                commands.append(
                    (f"Switch to {room.name}", "open this room's chat", self._opener(room.name))
                )
            if room.joined:
                commands.append(
                    (f"Leave {room.name}", "stop receiving this room", self._leaver(room.name))
                )
        return commands

    def _opener(self, room_name: str) -> Callable[[], None]:
        def open_room() -> None:
            self._switch(room_name)

        return open_room

    def _leaver(self, room_name: str) -> Callable[[], None]:
        def leave_room() -> None:
            self._leave(room_name)

        return leave_room

    @work(group="rooms")
    async def _switch(self, room_name: str) -> None:
        await self.open_room(room_name)

    def action_help(self) -> None:
        bindings = [b for b in self.BINDINGS if isinstance(b, Binding)]
        self.push_screen(HelpScreen([*bindings, Binding("ctrl+q", "quit", "Quit")]))

    @work(group="rooms")
    async def action_join_room(self) -> None:
        room_name = await self.push_screen_wait(PromptScreen("Join room", "room name"))
        if room_name:
            await self._join(room_name)

    def action_leave_room(self) -> None:
        if self.state.selected is None:
            self.notify("no room is open", severity="warning")
            return
        self._leave(self.state.selected)

    @work(group="rooms")
    async def _leave(self, room_name: str) -> None:
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

    def action_most_urgent(self) -> None:
        room_name = self.state.most_urgent_room()
        if room_name is None:
            self.notify("no room has unread traffic")
            return
        self._switch(room_name)

    def action_next_room(self, step: int) -> None:
        names = sorted(name for name, room in self.state.rooms.items() if room.joined)
        if not names:
            return
        index = names.index(self.state.selected) if self.state.selected in names else -step
        self._switch(names[(index + step) % len(names)])

    @work(group="clients")
    async def action_list_clients(self) -> None:
        try:
            reply = await self.client.request("list_clients")
        except ClientError as exc:
            self.notify(f"could not list clients: {exc}", severity="error", markup=False)
            return
        clients = (reply.get("data") or {}).get("clients") or []
        await self.push_screen_wait(ClientsScreen([c for c in clients if isinstance(c, dict)]))

    @work(group="broadcast")
    async def action_broadcast(self) -> None:
        """Broadcast the typed line (or ask for one), after a yes in a modal."""
        field = self.main.query_one("#message", Input)
        text = field.value.strip()
        if not text:
            answer: str | None = await self.push_screen_wait(
                PromptScreen("Broadcast to everyone", "message")
            )
            text = answer or ""
        if not text:
            return
        question = "Send this to EVERY connected client?"
        if not await self.push_screen_wait(ConfirmScreen(question, text, "Send to all")):
            self.notify("broadcast cancelled: nothing was sent")
            return
        try:
            reply = await self.client.send_to_all(text)
        except ClientError as exc:
            self.notify(f"broadcast not sent: {exc}", severity="error", markup=False)
            return
        if field.value.strip() == text:
            field.value = ""
        data = reply.get("data") or {}
        self.state.add_broadcast(
            ChatLine(
                self.clock(), "you", text, own=True, broadcast=True, seq=int(data.get("seq") or 0)
            )
        )
        self.notify(f"broadcast sent to {data.get('recipients', 0)} clients")

    async def on_input_submitted(self, event: Input.Submitted) -> None:
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
            reply = await self.client.send_to_room(room_name, text)
        except ClientError as exc:
            event.input.value = text
            self.notify(f"not sent to {room_name}: {exc}", severity="error", markup=False)
            return
        seq = int((reply.get("data") or {}).get("seq") or 0)
        self.state.add_chat(room_name, ChatLine(self.clock(), "you", text, own=True, seq=seq))

    def on_room_list_chosen(self, message: RoomList.Chosen) -> None:
        self._switch(message.room)

    def action_toggle_units(self) -> None:
        self.main.toggle_units()
        self.state.changed.update({"units", "calls"})

    @work(group="search")
    async def action_search(self) -> None:
        """Search chat and transcripts; the chosen match's room opens or its call shows."""
        match = await self.push_screen_wait(SearchScreen(self.state))
        if match is None:
            return
        if match.room is not None:
            await self.open_room(match.room)
            return
        if self.main.showing_units:
            self.action_toggle_units()
        if match.call_id is None or not self.main.calls.reveal(match.call_id):
            self.notify(f"call {match.call_id} is no longer on the board", markup=False)

    async def _pick_call(self, title: str, calls: list[Call]) -> str | None:
        if not calls:
            self.notify("no call to choose from", severity="warning")
            return None
        choices = [(call.call_id, self._call_label(call)) for call in calls]
        return await self.push_screen_wait(PickScreen(title, choices))

    def _call_label(self, call: Call) -> Text:
        advice = self.state.advice.get(call.call_id)
        label = literal(call.call_id, "bold")
        if advice is not None:
            kind = str(advice.suggestion.get("incident_type") or "unknown").replace("_", " ")
            label.append_text(
                literal(f"  P{advice.priority} {kind}", priority_colour(advice.priority))
            )
            label.append_text(literal(f"  {advice.suggestion.get('location') or ''}"))
        label.append("  ")
        label.append_text(marks_text(self.state.floor.marks.get(call.call_id)))
        return label

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

    async def _floor_request(self, event: str, data: dict[str, Any], done: str) -> bool:
        try:
            await self.client.request(event, data)
        except ClientError as exc:
            self.notify(f"not done: {exc}", severity="error", markup=False)
            return False
        self.notify(done, markup=False)
        return True

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
        name = await self.push_screen_wait(PickScreen(f"Send which unit to {call_id}?", choices))
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
        text = await self.push_screen_wait(
            PromptScreen("Emergency alert to everyone", "alert text")
        )
        if not text:
            return
        question = "Send this EMERGENCY ALERT to every connected client?"
        if not await self.push_screen_wait(ConfirmScreen(question, text, "Send alert")):
            self.notify("alert cancelled: nothing was sent")
            return
        alert = {"type": ALERT, "priority": "high", "message": text}
        try:
            reply = await self.client.send_to_all(alert)
        except ClientError as exc:
            self.notify(f"alert not sent: {exc}", severity="error", markup=False)
            return
        recipients = (reply.get("data") or {}).get("recipients", 0)
        self.notify(f"emergency alert sent to {recipients} clients")

    def action_acknowledge_alert(self) -> None:
        alert = self.state.floor.acknowledge_alert()
        if alert is None:
            self.notify("no emergency alert is waiting")
            return
        self.state.changed.add("alerts")
        self.notify(f"acknowledged the alert from {alert.sender}", markup=False)


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


#: Allocations between young-generation collections. A busy floor creates many
#: short-lived objects per event; Python's default (700) collected hundreds of
#: times a second and stalled keystrokes for tens of milliseconds.
_YOUNG_THRESHOLD = 10_000


#: How long after a key the panes wait, and for at most how many ticks in a row.
_KEY_FIRST = 0.05
_NOTICES_KEPT = 50


_MAX_DEFERRED = 4


def _calm_the_collector() -> None:
    """Move the objects of start-up out of the collector's way and collect less often.

    Reference cycles are still collected; only their cost per event drops.
    """
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(_YOUNG_THRESHOLD, older, oldest)
