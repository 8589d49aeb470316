"""The commands that work beside a relay: send, listen, rooms, clients, history,
replay and the console (tui), and analyze, which runs the agent offline."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from dispatch_tui import events as ev
from dispatch_tui.cli.connection import deliver, relay_client, run_command
from dispatch_tui.cli.exit_codes import Exit, fail
from dispatch_tui.cli.options import CaFileOption, JsonOption, NameOption, TokenOption, UrlOption
from dispatch_tui.cli.render import (
    clients_table,
    history_table,
    print_json,
    rooms_table,
    stdout_console,
    suggestion_view,
)

if TYPE_CHECKING:
    from rich.console import RenderableType

    from dispatch_tui.app import ConsoleSettings
    from dispatch_tui.client import DispatchClient
    from dispatch_tui.recorded import RecordedCall

ReplyT = TypeVar("ReplyT", bound=ev.Event)


async def _one(body: Any) -> AsyncIterator[Any]:
    yield body


async def _stdin_messages(as_json: bool) -> AsyncIterator[Any]:
    """Each non-blank stdin line as it arrives, so a producer can pipe a live stream in.

    A daemon thread reads, so a blocked read never holds up the exit.
    """
    import asyncio
    import threading

    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str | None] = asyncio.Queue()

    def read() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line)
        loop.call_soon_threadsafe(lines.put_nowait, None)

    threading.Thread(target=read, name="stdin", daemon=True).start()
    while (line := await lines.get()) is not None:
        if line.strip():
            yield _parse_message(line.rstrip("\r\n"), as_json)


def _parse_message(text: str, as_json: bool) -> Any:
    if not as_json:
        return text
    try:
        return json.loads(text)
    except ValueError as exc:
        fail(Exit.USAGE, f"--json: message is not valid JSON ({exc})")


def send(
    message: Annotated[
        str | None,
        typer.Argument(help="The message; '-' or none reads one message per stdin line."),
    ] = None,
    room: Annotated[str | None, typer.Option(help="Send to this room.")] = None,
    to_all: Annotated[bool, typer.Option("--all", help="Send to every client.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="MESSAGE is JSON; print the sent reply as JSON.")
    ] = False,
    url: UrlOption = None,
    token: TokenOption = None,
    name: NameOption = None,
    ca_file: CaFileOption = None,
) -> None:
    """Send a message to a room or to everyone."""
    if (room is None) == (not to_all):
        fail(Exit.USAGE, "give exactly one of --room ROOM or --all")
    stream = message is None or message == "-"
    single = None if stream else _parse_message(message or "", as_json)

    async def work() -> None:
        from dispatch_tui.client import expect

        async with relay_client(url, token, name, ca_file) as client:
            bodies = _stdin_messages(as_json) if stream else _one(single)
            async for body in bodies:
                if room is None:
                    reply = await deliver(client, "send_to_all", {"message": body})
                else:
                    request = {"room_name": room, "message": body}
                    reply = await deliver(client, "send_to_room", request)
                if as_json:
                    print_json(reply)
                else:
                    sent = expect(reply, ev.Sent)
                    target = "everyone" if room is None else room
                    sys.stdout.write(
                        f"sent #{sent.seq} to {target} ({sent.recipients} recipients)\n"
                    )
                    sys.stdout.flush()

    run_command(work())


def listen(
    room: Annotated[
        list[str] | None, typer.Option("--room", help="Join this room first (repeatable).")
    ] = None,
    count: Annotated[int | None, typer.Option(help="Stop after this many events.", min=1)] = None,
    reconnect: Annotated[
        bool, typer.Option("--reconnect", help="Reconnect and resume if the relay goes away.")
    ] = False,
    url: UrlOption = None,
    token: TokenOption = None,
    name: NameOption = None,
    ca_file: CaFileOption = None,
) -> None:
    """Print each event received as one JSON line."""

    async def work() -> None:
        from dispatch_tui.client import ConnectionFailed

        async with relay_client(url, token, name, ca_file, reconnect=reconnect) as client:
            for each in room or []:
                await client.join(each)
            seen = 0
            greeting = True
            async for event in client.events():
                if greeting and event.get("event") == ev.EventName.STATUS:
                    greeting = False
                    continue
                greeting = False
                print_json(event)
                seen += 1
                if count is not None and seen >= count:
                    return
            if client.lost_reason is not None:
                raise ConnectionFailed(f"connection to the relay lost: {client.lost_reason}")

    run_command(work())


def rooms(
    as_json: JsonOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
    name: NameOption = None,
    ca_file: CaFileOption = None,
) -> None:
    """List rooms with their member counts."""
    _query(
        relay_client(url, token, name, ca_file),
        "list_rooms",
        {},
        as_json,
        ev.RoomsList,
        rooms_table,
    )


def clients(
    room: Annotated[str | None, typer.Option(help="Only members of this room.")] = None,
    as_json: JsonOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
    name: NameOption = None,
    ca_file: CaFileOption = None,
) -> None:
    """List connected clients."""
    data = {} if room is None else {"room_name": room}
    client = relay_client(url, token, name, ca_file)
    _query(client, "list_clients", data, as_json, ev.ClientsList, clients_table)


def _query(
    client: DispatchClient,
    event: str,
    data: dict[str, Any],
    as_json: bool,
    answer: type[ReplyT],
    render: Callable[[ReplyT], RenderableType],
) -> None:
    """Ask the relay once; print the raw reply for scripts or a table for people."""

    async def work() -> None:
        from dispatch_tui.client import expect

        async with client:
            reply = await client.request(event, data)
        if as_json:
            print_json(reply)
        else:
            stdout_console().print(render(expect(reply, answer)))

    run_command(work())


def history(
    room: Annotated[
        str | None, typer.Option(help="A room's messages; none: the global stream.")
    ] = None,
    since: Annotated[int | None, typer.Option(help="Only messages after this seq.", min=0)] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many.", min=1, max=1000)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per message.")] = False,
    url: UrlOption = None,
    token: TokenOption = None,
    name: NameOption = None,
    ca_file: CaFileOption = None,
) -> None:
    """Print stored messages."""

    async def work() -> None:

        async with relay_client(url, token, name, ca_file) as client:
            page = await client.history(room, since=since, limit=limit)
        if as_json:
            for message in page.messages:
                print_json(message)
            return
        stdout_console().print(history_table(page.messages))
        if page.has_more:
            sys.stderr.write("(more messages: use --since or --limit)\n")

    run_command(work())


def replay(
    file: Annotated[
        str, typer.Argument(help="JSON lines of segments or whole calls; '-' is stdin.")
    ],
    speed: Annotated[float, typer.Option(help="2 plays twice as fast.", min=0.01)] = 1.0,
    call_id: Annotated[
        str | None, typer.Option(help="Only this call (or the call id of loose segments).")
    ] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    name: NameOption = None,
    ca_file: CaFileOption = None,
) -> None:
    """Push recorded calls to the relay as a transcription source."""
    from dispatch_tui.recorded import DEFAULT_CALL_ID, group_calls, play, timeline

    calls = group_calls(_read_calls(file))
    if call_id is not None:
        chosen = [call for call in calls if call.call_id == call_id]
        if not chosen and [call.call_id for call in calls] == [DEFAULT_CALL_ID]:
            chosen = [calls[0].model_copy(update={"call_id": call_id})]
        if not chosen:
            fail(Exit.USAGE, f"no call {call_id!r} in {file}")
        calls = chosen
    cues = timeline(calls, interim=False)

    async def work() -> None:
        async with relay_client(url, token, name, ca_file) as client:
            async for segment in play(cues, speed):
                data: dict[str, Any] = {
                    "call_id": segment.call_id,
                    "text": segment.text,
                    "is_final": segment.is_final,
                    "segment_id": segment.segment_id,
                }
                if segment.speaker is not None:
                    data["speaker"] = segment.speaker
                await deliver(client, "publish_transcript", data)
        sys.stderr.write(f"replayed {len(cues)} fragments of {len(calls)} call(s)\n")

    run_command(work())


def _read_calls(file: str) -> list[RecordedCall]:
    """Every readable call of FILE; each bad line is reported and skipped."""
    from dispatch_tui.recorded import RecordingError, parse_lines

    try:
        handle = sys.stdin if file == "-" else open(file, encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        fail(Exit.USAGE, f"cannot read {file}: {exc.strerror or exc}")
    calls: list[RecordedCall] = []
    with handle:
        for _, parsed in parse_lines(handle):
            if isinstance(parsed, RecordingError):
                sys.stderr.write(f"dispatch: {file}: {parsed}; skipped\n")
            else:
                calls.append(parsed)
    return calls


def analyze(
    file: Annotated[str, typer.Argument(help="JSON lines of whole calls; '-' is stdin.")] = "-",
    agent: Annotated[str, typer.Option(help="rules or openai.")] = "rules",
    model: Annotated[
        str | None, typer.Option(envvar="DISPATCH_MODEL", help="Model for --agent openai.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help='One {"call_id", "suggestion"} line per call.')
    ] = False,
) -> None:
    """Run the agent offline over recorded calls."""
    import asyncio

    from dispatch_tui.server.agents import ADVISING_AGENTS, create_agent
    from dispatch_tui.server.agents.base import Segment

    if agent not in ADVISING_AGENTS:
        fail(Exit.USAGE, f"--agent must be {' or '.join(ADVISING_AGENTS)}, not {agent!r}")
    if agent == "openai" and not model:
        fail(Exit.USAGE, "--agent openai needs --model (or DISPATCH_MODEL)")
    advisor = create_agent(agent, model)
    assert advisor is not None
    calls = _read_calls(file)

    async def work() -> None:
        for call in calls:
            segments = [Segment(s.speaker, s.text) for s in call.segments]
            suggestion = (await advisor.suggest(segments)).model_dump(mode="json")
            if as_json:
                print_json({"call_id": call.call_id, "suggestion": suggestion})
            else:
                stdout_console().print(suggestion_view(call.call_id, suggestion))

    asyncio.run(work())


def tui(
    room: Annotated[
        list[str] | None,
        typer.Option("--room", help="Join this room (repeatable); the first one is opened."),
    ] = None,
    max_lines: Annotated[
        int, typer.Option(help="Lines kept per pane; older ones stay in history.", min=10)
    ] = 500,
    wait: Annotated[
        bool, typer.Option("--wait", help="Keep trying if the relay is not up yet.")
    ] = False,
    bell: Annotated[
        bool, typer.Option(help="Ring the terminal bell for priority-1 advice and alerts.")
    ] = True,
    unit_stale_after: Annotated[
        float,
        typer.Option(help="Seconds without a report before a unit shows as stale.", min=1),
    ] = 300.0,
    url: UrlOption = None,
    token: TokenOption = None,
    name: NameOption = None,
    ca_file: CaFileOption = None,
) -> None:
    """The full-screen dispatcher console."""
    from dispatch_tui.app import ConsoleSettings

    settings = ConsoleSettings(
        rooms=tuple(room or ("dispatch_center",)),
        max_lines=max_lines,
        bell=bell,
        wait_for_relay=wait,
        unit_stale_after=unit_stale_after,
    )
    _run_console(relay_client(url, token, name, ca_file, reconnect=True), settings)


def _run_console(client: DispatchClient, settings: ConsoleSettings) -> None:
    """Connect, then run the console; a relay that cannot be reached exits 3 at once.

    Connecting before the screen opens keeps a wrong URL or token a one-line
    error rather than a flash of a full-screen app. ``--wait`` instead opens the
    console at once and lets it retry until the relay is up.
    """

    async def work() -> None:
        from dispatch_tui.app import DispatchApp

        if not settings.wait_for_relay:
            await client.connect()
        console = DispatchApp(client, settings)
        await console.run_async()
        if console.failure is not None:
            code, message = console.failure
            fail(Exit(code), message)

    run_command(work())
