"""Driving the console in tests: a real relay, the real app, the Textual pilot."""

from __future__ import annotations

import asyncio
import dataclasses
import io
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from rich.console import Console
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Input, RichLog, Static

from dispatch_tui.app import ConsoleSettings, DispatchApp
from dispatch_tui.client import Backoff, DispatchClient, LinkState
from dispatch_tui.server.relay import Relay, RelaySettings
from dispatch_tui.widgets.advice import AdviceCard

SIZE = (160, 48)
LIVE = (LinkState.CONNECTED, LinkState.RECOVERED)


async def until(
    pilot: Pilot[Any], condition: Callable[[], object], what: str, timeout: float = 60.0
) -> None:
    """Let the app run until ``condition()`` holds; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


def rendered(widget: Widget) -> str:
    """What a widget shows, as plain text: its content (a static's, an advice card's
    panel) at 120 columns, else its painted lines."""
    content: object = None
    if isinstance(widget, Static):
        content = widget.content
    elif isinstance(widget, AdviceCard):
        content = widget.card
    if content is not None:
        console = Console(width=120, file=io.StringIO(), color_system=None, record=True)
        console.print(content)
        return console.export_text()
    return painted(widget)


def painted(widget: Widget) -> str:
    """The lines a widget paints at its size, as plain text."""
    strips = widget.render_lines(Region(0, 0, *widget.outer_size))
    return "\n".join(strip.text for strip in strips)


def chat_text(log: RichLog) -> str:
    return "\n".join(strip.text for strip in log.lines)


def console_app(
    url: str, rooms: tuple[str, ...] = ("dispatch_center",), **settings: Any
) -> DispatchApp:
    client = DispatchClient(
        url, name="Dispatcher 3", reconnect=True, backoff=Backoff(initial=0.2, maximum=1.0)
    )
    options: dict[str, Any] = {"redraw_interval": 0.05, "poll_interval": 0.5, **settings}
    return DispatchApp(client, ConsoleSettings(rooms=rooms, **options))


@asynccontextmanager
async def running(app: DispatchApp) -> AsyncIterator[Pilot[Any]]:
    """The app connected, its first room open and drawn."""
    async with app.run_test(size=SIZE) as pilot:
        first = app.settings.rooms[0]
        await until(
            pilot,
            lambda: app.link in LIVE and app.state.selected == first,
            "the console to connect and open its first room",
        )
        yield pilot


@asynccontextmanager
async def started(relay: Relay) -> AsyncIterator[Relay]:
    """A relay that runs for the block."""
    await relay.start()
    try:
        yield relay
    finally:
        await relay.stop()


@asynccontextmanager
async def relay_gone(
    settings: RelaySettings,
) -> AsyncIterator[tuple[DispatchApp, Pilot[Any], RelaySettings]]:
    """A connected console whose relay has just stopped, and seen it go.

    The settings yielded start a relay on the same journal and port again.
    """
    first = Relay(settings)
    await first.start()
    app = console_app(first.url)
    async with running(app) as pilot:
        await first.stop()
        await until(pilot, lambda: app.link is LinkState.RECONNECTING, "the console to notice")
        yield app, pilot, dataclasses.replace(settings, port=first.port)


async def type_and_enter(pilot: Pilot[Any], text: str, selector: str = "#message") -> None:
    """Fill an input and press Enter (pressing each key is slow under the pilot)."""
    field = pilot.app.screen.query_one(selector, Input)
    field.focus()
    field.value = text
    await pilot.press("enter")
