"""Render the console's screenshot for the docs: ``docs/console.svg``.

    python scripts/screenshot.py [--out docs/console.svg] [--speed 4] [--timeout 60]

Everything runs in this process, as ``dispatch demo`` does: a relay on a free
port with the rules agent, the demo calls played fast, field units chatting,
and the real console (headless, 160x48) connected to it. The picture is taken
once the console shows at least two calls, two advice cards and some chat;
then another dispatcher takes the most urgent call, a supervisor sends an
emergency alert, and the units board is opened (F2), so the picture shows the
board, the alert banner and a claimed advice card.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input

from dispatch_tui.app import ConsoleSettings, DispatchApp
from dispatch_tui.client import DispatchClient, LinkState
from dispatch_tui.demo_units import play_chatter
from dispatch_tui.server.agents.rules import RulesAgent
from dispatch_tui.server.demo import play_demo
from dispatch_tui.server.pipeline import PipelineSettings
from dispatch_tui.server.relay import Relay, RelaySettings

ROOT = Path(__file__).resolve().parent.parent
SIZE = (160, 48)
ROOMS = ("dispatch_center", "field_ops")


def connected(app: DispatchApp) -> bool:
    """The console is connected and shows its first room."""
    return app.link is LinkState.CONNECTED and app.state.selected == ROOMS[0]


def ready(app: DispatchApp) -> bool:
    """Every pane shows something: two calls, two urgent advice cards, chat in the open room."""
    state = app.state
    room = state.rooms.get(state.selected) if state.selected else None
    return (
        len(state.calls) >= 2
        and sum(advice.priority <= 2 for advice in state.advice.values()) >= 2
        and room is not None
        and len(room.lines) >= 2
    )


async def wait_for(
    pilot: Pilot[None], app: DispatchApp, condition: Callable[[], bool], what: str, timeout: float
) -> None:
    """Let the app run until ``condition()`` holds; fail loudly if it never does."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if app.failure is not None:
            raise SystemExit(f"console stopped: {app.failure[1]}")
        if loop.time() > deadline:
            raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}")
        await pilot.pause(0.1)


def claimed(app: DispatchApp) -> bool:
    marks = app.state.floor.marks
    return bool(app.state.floor.alerts) and any(m.claimed_by for m in marks.values())


async def floor_traffic(url: str, call_id: str) -> None:
    """Another dispatcher takes the call; a supervisor sends an alert to everyone."""
    async with DispatchClient(url, name="Dispatcher 5") as colleague:
        await colleague.request("claim_call", {"call_id": call_id})
    async with DispatchClient(url, name="Sup. Lee") as supervisor:
        alert = {
            "type": "emergency_alert",
            "priority": "high",
            "message": "Severe weather: all units check in on channel 2",
        }
        await supervisor.send_to_all(alert)


async def screenshot(out: Path, speed: float, timeout: float) -> None:
    """Start the relay and the console, then the demo; save the console's SVG to ``out``.

    The demo starts only once the console is in its room, so however slow the
    machine is to start Textual, the picture catches the first calls, not the
    end of the round.
    """
    relay = Relay(
        RelaySettings(port=0, db=":memory:"),
        agent=RulesAgent(),
        pipeline=PipelineSettings(idle_gap=0.3),
    )
    await relay.start()
    chatter: asyncio.Task[None] | None = None
    try:
        assert relay.pipeline is not None
        client = DispatchClient(relay.url, name="Dispatcher 3", reconnect=True)
        app = DispatchApp(client, ConsoleSettings(rooms=ROOMS))
        async with app.run_test(size=SIZE) as pilot:
            # A steady cursor: the blink would otherwise decide whether it is in the picture.
            app.main.query_one("#message", Input).cursor_blink = False
            await wait_for(pilot, app, lambda: connected(app), "the console to connect", timeout)
            relay.spawn(play_demo(relay.pipeline, speed), "demo")
            chatter = asyncio.create_task(play_chatter(relay.url, interval=0.4))
            await wait_for(pilot, app, lambda: ready(app), "calls, advice and chat", timeout)
            await wait_for(
                pilot, app, lambda: len(app.state.floor.units) >= 3, "three units", timeout
            )
            await floor_traffic(relay.url, app.state.cards()[0].call_id)
            await wait_for(pilot, app, lambda: claimed(app), "the claim and the alert", timeout)
            await pilot.press("f2")
            app.redraw()
            await pilot.pause()
            out.parent.mkdir(parents=True, exist_ok=True)
            app.save_screenshot(filename=out.name, path=str(out.parent))
    finally:
        if chatter is not None:
            chatter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await chatter
        await relay.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "console.svg")
    parser.add_argument("--speed", type=float, default=4.0, help="demo calls' playback speed")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for traffic")
    args = parser.parse_args()
    asyncio.run(screenshot(args.out, args.speed, args.timeout))
    print(args.out)


if __name__ == "__main__":
    main()
