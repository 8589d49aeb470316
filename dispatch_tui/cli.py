"""The ``dispatch`` command. Heavy modules are imported inside each command,
so that ``dispatch --help`` and the scripting commands start fast."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Coroutine
from enum import IntEnum
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from dispatch_tui.client import DispatchClient

app = typer.Typer(
    name="dispatch",
    help="Emergency dispatch relay, console and scripting tools.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Emergency dispatch relay, console and scripting tools."""


class Exit(IntEnum):
    """Exit codes of CLI.md."""

    OK = 0
    REFUSED = 1
    USAGE = 2
    CONNECTION = 3


def fail(code: Exit, message: str) -> NoReturn:
    """One line on stderr, no traceback, and the contract's exit code."""
    sys.stderr.write(f"dispatch: {message}\n")
    raise typer.Exit(int(code))


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


UrlOption = Annotated[
    str, typer.Option("--url", envvar="DISPATCH_URL", help="Relay URL (ws:// or wss://).")
]
TokenOption = Annotated[
    str | None,
    typer.Option("--token", envvar="DISPATCH_TOKEN", help="Access token.", show_default=False),
]
NameOption = Annotated[
    str | None,
    typer.Option("--name", envvar="DISPATCH_NAME", help="Display name.", show_default=False),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
DEFAULT_URL = "ws://localhost:8765"


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port; 0 picks a free one.", min=0, max=65535)] = 8765,
    db: Annotated[
        str | None,
        typer.Option(help="Journal (SQLite) path; ':memory:' keeps nothing on disk."),
    ] = None,
    max_message_bytes: Annotated[
        int, typer.Option(help="Larger frames are closed with 1009.", min=64)
    ] = 65536,
    max_client_buffer: Annotated[
        int,
        typer.Option(help="Unsent bytes a client may lag behind before 1013.", min=1024),
    ] = 2 << 20,
    retention_messages: Annotated[
        int, typer.Option(help="Journal keeps at most this many messages.", min=1)
    ] = 1_000_000,
    retention_days: Annotated[
        float | None, typer.Option(help="Journal drops messages older than this.", min=0)
    ] = None,
    compression: Annotated[
        bool, typer.Option("--compression", help="Enable permessage-deflate.")
    ] = False,
    insecure: Annotated[
        bool,
        typer.Option("--insecure", help="Allow a non-loopback --host without --auth."),
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    """Run the relay."""
    import asyncio

    from dispatch_tui.server.journal import JournalError, Retention
    from dispatch_tui.server.relay import RelaySettings, default_db_path, run_until_signalled

    _setup_logging(verbose)
    if not insecure and not _is_loopback(host):
        fail(
            Exit.USAGE,
            f"refusing to bind {host}: the relay is open to anyone without --auth; "
            "use a loopback address, --auth FILE, or --insecure",
        )
    settings = RelaySettings(
        host=host,
        port=port,
        db=db if db is not None else str(default_db_path()),
        max_message_bytes=max_message_bytes,
        max_client_buffer=max_client_buffer,
        compression=compression,
        retention=Retention(
            max_messages=retention_messages,
            max_age_seconds=None if retention_days is None else retention_days * 86400,
        ),
    )
    from dispatch_tui.server.relay import Relay

    try:
        asyncio.run(run_until_signalled(Relay(settings)))
    except JournalError as exc:
        fail(Exit.REFUSED, str(exc))
    except OSError as exc:
        fail(Exit.CONNECTION, f"cannot listen on {host}:{port}: {exc.strerror or exc}")


def _client(url: str, token: str | None, name: str | None, **options: Any) -> DispatchClient:
    from dispatch_tui.client import DispatchClient

    return DispatchClient(url, token=token, name=name, **options)


def _run(work: Coroutine[Any, Any, None]) -> None:
    """Run one client command, turning its failures into the contract's exit codes."""
    import asyncio

    from dispatch_tui.client import ConnectionFailed, ServerRefused

    try:
        asyncio.run(work)
    except ServerRefused as exc:
        fail(Exit.REFUSED, f"relay refused: {exc}")
    except ConnectionFailed as exc:
        fail(Exit.CONNECTION, str(exc))
    except KeyboardInterrupt:
        raise typer.Exit(int(Exit.OK)) from None


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _parse_message(text: str, as_json: bool) -> Any:
    if not as_json:
        return text
    try:
        return json.loads(text)
    except ValueError as exc:
        fail(Exit.USAGE, f"--json: message is not valid JSON ({exc})")


@app.command()
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
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    name: NameOption = None,
) -> None:
    """Send a message to a room or to everyone."""
    if (room is None) == (not to_all):
        fail(Exit.USAGE, "give exactly one of --room ROOM or --all")
    if message is None or message == "-":
        lines = [line.rstrip("\r\n") for line in sys.stdin]
        messages = [_parse_message(line, as_json) for line in lines if line.strip()]
    else:
        messages = [_parse_message(message, as_json)]

    async def work() -> None:
        async with _client(url, token, name) as client:
            for body in messages:
                if room is None:
                    reply = await client.send_to_all(body)
                else:
                    reply = await client.send_to_room(room, body)
                if as_json:
                    _print_json(reply)
                else:
                    data = reply["data"]
                    target = "everyone" if room is None else room
                    sys.stdout.write(
                        f"sent #{data['seq']} to {target} ({data['recipients']} recipients)\n"
                    )

    _run(work())


@app.command()
def listen(
    room: Annotated[
        list[str] | None, typer.Option("--room", help="Join this room first (repeatable).")
    ] = None,
    count: Annotated[int | None, typer.Option(help="Stop after this many events.", min=1)] = None,
    reconnect: Annotated[
        bool, typer.Option("--reconnect", help="Reconnect and resume if the relay goes away.")
    ] = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    name: NameOption = None,
) -> None:
    """Print each event received as one JSON line."""

    async def work() -> None:
        from dispatch_tui.client import ConnectionFailed

        async with _client(url, token, name, reconnect=reconnect) as client:
            for each in room or []:
                await client.join(each)
            seen = 0
            greeting = True
            async for event in client.events():
                if greeting and event.get("event") == "status":
                    greeting = False
                    continue
                greeting = False
                _print_json(event)
                seen += 1
                if count is not None and seen >= count:
                    return
            if client.lost_reason is not None:
                raise ConnectionFailed(f"connection to the relay lost: {client.lost_reason}")

    _run(work())


@app.command()
def rooms(
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    name: NameOption = None,
) -> None:
    """List rooms with their member counts."""

    async def work() -> None:
        async with _client(url, token, name) as client:
            reply = await client.request("list_rooms")
        if as_json:
            _print_json(reply)
            return
        from rich.table import Table

        from dispatch_tui.untrusted import literal

        table = Table("room", "members")
        for room_name, members in sorted(reply["data"]["rooms"].items()):
            table.add_row(literal(room_name), str(members))
        _console().print(table)

    _run(work())


@app.command()
def clients(
    room: Annotated[str | None, typer.Option(help="Only members of this room.")] = None,
    as_json: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    name: NameOption = None,
) -> None:
    """List connected clients."""

    async def work() -> None:
        async with _client(url, token, name) as client:
            data = {} if room is None else {"room_name": room}
            reply = await client.request("list_clients", data)
        if as_json:
            _print_json(reply)
            return
        from rich.table import Table

        from dispatch_tui.untrusted import literal

        table = Table("address", "name", "role", "rooms")
        for entry in reply["data"]["clients"]:
            table.add_row(
                literal(entry.get("address")),
                literal(entry.get("name") or ""),
                literal(entry.get("role") or ""),
                literal(", ".join(entry.get("rooms") or [])),
            )
        _console().print(table)

    _run(work())


@app.command()
def history(
    room: Annotated[
        str | None, typer.Option(help="A room's messages; none: the global stream.")
    ] = None,
    since: Annotated[int | None, typer.Option(help="Only messages after this seq.", min=0)] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many.", min=1, max=1000)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per message.")] = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    name: NameOption = None,
) -> None:
    """Print stored messages."""

    async def work() -> None:
        async with _client(url, token, name) as client:
            reply = await client.history(room, since=since, limit=limit)
        messages = reply["data"]["messages"]
        if as_json:
            for message in messages:
                _print_json(message)
            return
        from rich.table import Table

        from dispatch_tui.untrusted import literal

        table = Table("seq", "time", "from", "event", "message")
        for message in messages:
            data = message.get("data") or {}
            body = data.get("message", data.get("text", data.get("suggestion")))
            shown = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
            table.add_row(
                str(data.get("seq", "")),
                str(data.get("ts", "")),
                literal(data.get("name") or data.get("from") or data.get("call_id") or ""),
                literal(message.get("event", "")),
                literal(shown),
            )
        _console().print(table)
        if reply["data"].get("has_more"):
            sys.stderr.write("(more messages: use --since or --limit)\n")

    _run(work())


def _console() -> Console:
    from rich.console import Console

    return Console()


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main() -> None:
    """Entry point of the ``dispatch`` command."""
    app()


if __name__ == "__main__":
    main()
