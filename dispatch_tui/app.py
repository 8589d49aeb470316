"""The dispatcher console: a Textual app over one :class:`DispatchClient`.

The app owns what every screen shares: the connection and its event pump, the
:class:`ConsoleState`, the settings, the bell and the notifications. Relay
events are folded into the state as they come, and the main screen is redrawn
at a fixed pace, so a burst of traffic never delays a keystroke. What the keys
do is the main screen's (:mod:`dispatch_tui.screens.main`).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from textual import events, screen, work
from textual.app import App
from textual.notifications import SeverityLevel

from dispatch_tui.cli.exit_codes import Exit
from dispatch_tui.client import ClientError, ConnectionFailed, DispatchClient, LinkState
from dispatch_tui.collector import GapCollector, GapWait, KeyGaps
from dispatch_tui.console_state import ConsoleState
from dispatch_tui.screens.main import ALL_PANES, PANE_GROUPS, MainScreen
from dispatch_tui.screens.palette import ConsoleCommands
from dispatch_tui.untrusted import strip_controls


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


class DispatchApp(App[None]):
    """The full-screen console; ``dispatch tui`` and ``dispatch demo`` run it."""

    TITLE = "dispatch"
    COMMANDS = App.COMMANDS | {ConsoleCommands}

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
        self.gaps = KeyGaps()
        self.collector = GapCollector(self.gaps)
        self._panes_wait = GapWait(self.gaps, _PANES_LONGEST_WAIT)
        #: When each group of panes was last drawn.
        self._drawn_at = dict.fromkeys(PANE_GROUPS, -math.inf)
        #: The latest notifications, newest last, as shown on the notice line.
        self.notices: list[str] = []
        client.on_state = self._link_changed

    @property
    def main(self) -> MainScreen:
        """The main screen, kept by the app so late workers never look it up by name."""
        return self._main

    async def on_mount(self) -> None:
        self._main = MainScreen(
            self.client,
            self.state,
            self.clock,
            max_lines=self.settings.max_lines,
            history_lines=self.settings.history_lines,
            stale_after=self.settings.unit_stale_after,
        )
        await self.push_screen(self._main)
        self.state.changed.update({"status", "rooms", "calls", "advice", "room_switched"})
        self.set_interval(1.0, self._tick)
        self.collector.start()
        self.set_interval(_GAP_CHECK_SECONDS, self._work_in_gaps)
        if self.connect_on_mount:
            self._run_link()

    async def on_unmount(self) -> None:
        self.collector.stop()
        await self.client.close()

    async def on_event(self, event: events.Event) -> None:
        """Note each key, so that neither the panes nor the collector hold up its drawing."""
        if isinstance(event, events.Key):
            self.gaps.key_pressed()
        await super().on_event(event)

    def redraw(self, panes: frozenset[str] = ALL_PANES) -> None:
        """Draw what changed in ``panes``; new priority-1 advice rings as its card is drawn."""
        if not self.screen_stack:  # starting or closing: nothing to draw on
            return
        if self.screen is not self.main and not self.state.changed:
            return
        self.main.redraw(self.link, self.client.url, self.clock(), panes)
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

    def _work_in_gaps(self) -> None:
        """Draw the panes that are due, then collect garbage if that is due: both between keys."""
        self._redraw_due_panes()
        self.collector.tick()

    def _redraw_due_panes(self) -> None:
        """Draw each group of panes that changed, at most every ``redraw_interval``.

        While someone types, the panes wait for a gap between keys (at most
        :data:`_PANES_LONGEST_WAIT`): the screen update that shows a key then
        carries nothing else, so typing stays quick however busy the floor is.
        """
        changed = self.state.changed
        if not changed:
            return
        now = self.gaps.clock()
        interval = self.settings.redraw_interval
        due = [g for g in PANE_GROUPS if g & changed and now - self._drawn_at[g] >= interval]
        if not due or not self._panes_wait.may_run():
            return
        for group in due:
            self._drawn_at[group] = now
        self.redraw(frozenset().union(*due))

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
        self.main.show_notice(text, severity, timeout)

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
        await self.main.join_rooms(self.settings.rooms)
        self._poll()
        async for event in self.client.events():
            self.handle_event(event)

    @work(exclusive=True, group="poll")
    async def _poll(self) -> None:
        """Refresh member counts and the selected room's clients now and then."""
        while True:
            if self.link in (LinkState.CONNECTED, LinkState.RECOVERED, LinkState.GAP):
                with contextlib.suppress(ClientError):
                    await self.main.refresh_members()
            await asyncio.sleep(self.settings.poll_interval)


#: Screen updates a second at most. A key is drawn at the screen's next update,
#: and at Textual's 60 that wait was most of a keystroke's latency on a busy
#: floor; the panes keep their own pace, so more updates cost no more CPU.
FRAMES_PER_SECOND = 120


def _draw_keys_sooner() -> None:
    """Textual reads ``TEXTUAL_FPS`` once, when it is imported, into the screens' update period.

    The console sets that period itself, before any screen starts its update
    timer, unless the user chose a rate with ``TEXTUAL_FPS``.
    """
    if "TEXTUAL_FPS" not in os.environ:
        screen.UPDATE_PERIOD = 1 / FRAMES_PER_SECOND  # type: ignore[misc]


_draw_keys_sooner()

#: How often the console looks whether panes should be drawn or garbage collected.
_GAP_CHECK_SECONDS = 0.025
#: How long changed panes wait at most for a gap between keys.
_PANES_LONGEST_WAIT = 0.3
#: Notifications kept in :attr:`DispatchApp.notices`.
_NOTICES_KEPT = 50
