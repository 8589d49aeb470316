"""The ``dispatch`` command. Heavy modules are imported inside each command,
so that ``dispatch --help`` and the scripting commands start fast."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dispatch_tui.cli.exit_codes import Exit, fail
from dispatch_tui.server.settings import default

if TYPE_CHECKING:
    import ssl

    from rich.console import Console

    from dispatch_tui.app import ConsoleSettings
    from dispatch_tui.client import DispatchClient
    from dispatch_tui.recorded import RecordedCall
    from dispatch_tui.server.relay import Relay, RelaySettings
    from dispatch_tui.server.settings import ServeSettings

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


def _setup_logging(verbose: bool, log_format: str = "text") -> None:
    from dispatch_tui.logs import configure

    configure(logging.DEBUG if verbose else logging.INFO, log_format)


DEFAULT_URL = "ws://localhost:8765"
UrlOption = Annotated[
    list[str] | None,
    typer.Option(
        "--url",
        envvar="DISPATCH_URL",
        metavar="URL",
        help="Relay URL (ws:// or wss://); repeat it, or separate URLs with commas, "
        "to name several relays of one cluster: the next is used when one goes away.",
        show_default=DEFAULT_URL,
    ),
]
TokenOption = Annotated[
    str | None,
    typer.Option("--token", envvar="DISPATCH_TOKEN", help="Access token.", show_default=False),
]
NameOption = Annotated[
    str | None,
    typer.Option("--name", envvar="DISPATCH_NAME", help="Display name.", show_default=False),
]
CaFileOption = Annotated[
    str | None,
    typer.Option(
        "--ca-file",
        envvar="DISPATCH_CA_FILE",
        help="CA certificate (PEM) to trust for wss://.",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


@app.command()
def serve(
    context: typer.Context,
    host: Annotated[str, typer.Option(help="Address to bind.")] = default("host"),
    port: Annotated[int, typer.Option(help="Port; 0 picks a free one.")] = default("port"),
    db: Annotated[
        str | None,
        typer.Option(help="Journal (SQLite) path; ':memory:' keeps nothing on disk."),
    ] = default("db"),
    max_message_bytes: Annotated[
        int, typer.Option(help="Larger frames are closed with 1009.")
    ] = default("max_message_bytes"),
    max_client_buffer: Annotated[
        int,
        typer.Option(help="Unsent bytes a client may lag behind before 1013."),
    ] = default("max_client_buffer"),
    retention_messages: Annotated[
        int, typer.Option(help="Journal keeps at most this many messages.")
    ] = default("retention_messages"),
    retention_days: Annotated[
        float | None, typer.Option(help="Journal drops messages older than this.")
    ] = default("retention_days"),
    compression: Annotated[
        bool, typer.Option("--compression", help="Enable permessage-deflate.")
    ] = default("compression"),
    insecure: Annotated[
        bool,
        typer.Option("--insecure", help="Allow a non-loopback --host without --auth."),
    ] = default("insecure"),
    source: Annotated[
        str | None,
        typer.Option(help="Upstream transcription WebSocket to keep connected.", metavar="URL"),
    ] = default("source"),
    source_format: Annotated[
        str,
        typer.Option(help="auto, native, deepgram, assemblyai, openai or text."),
    ] = default("source_format"),
    demo: Annotated[
        bool, typer.Option("--demo", help="Play the built-in calls in a loop.")
    ] = default("demo"),
    agent: Annotated[str, typer.Option(help="rules, openai or off.")] = default("agent"),
    model: Annotated[
        str | None,
        typer.Option(help="Model for --agent openai (env DISPATCH_MODEL)."),
    ] = default("model"),
    transcripts_room: Annotated[
        str | None, typer.Option(help="Send transcripts only to this room.")
    ] = default("transcripts_room"),
    suggestions_room: Annotated[
        str | None, typer.Option(help="Send AI suggestions only to this room.")
    ] = default("suggestions_room"),
    idle_gap: Annotated[
        float, typer.Option(help="Seconds of silence after which the agent runs.")
    ] = default("idle_gap"),
    escalate_after: Annotated[
        float,
        typer.Option(help="Seconds P1 advice may go unacknowledged before escalation; 0: never."),
    ] = default("escalate_after"),
    supervisors_room: Annotated[
        str, typer.Option(help="Room told of unacknowledged P1 advice.")
    ] = default("supervisors_room"),
    auth: Annotated[
        str | None, typer.Option("--auth", help="Users and roles (TOML).", metavar="FILE")
    ] = default("auth"),
    origin: Annotated[
        list[str] | None,
        typer.Option("--origin", help="Browser Origin allowed (repeatable); default any."),
    ] = None,
    certfile: Annotated[
        str | None, typer.Option(help="TLS certificate (PEM): serve wss://.", metavar="FILE")
    ] = default("certfile"),
    keyfile: Annotated[
        str | None, typer.Option(help="TLS private key, if not in --certfile.", metavar="FILE")
    ] = default("keyfile"),
    rate_limit: Annotated[
        float, typer.Option(help="Messages per second per connection; 0: no limit.")
    ] = default("rate_limit"),
    rate_burst: Annotated[
        int, typer.Option(help="Messages a connection may send at once.")
    ] = default("rate_burst"),
    max_connections_per_address: Annotated[
        int, typer.Option(help="Open connections per IP address; 0: no cap.")
    ] = default("max_connections_per_address"),
    auth_timeout: Annotated[
        float, typer.Option(help="Seconds a browser has to send auth.")
    ] = default("auth_timeout"),
    redis: Annotated[
        str | None,
        typer.Option(help="Share rooms' traffic and seq with other relays.", metavar="URL"),
    ] = default("redis"),
    ping_interval: Annotated[
        float, typer.Option(help="Seconds between keepalive pings; 0: none.")
    ] = default("ping_interval"),
    ping_timeout: Annotated[
        float, typer.Option(help="Seconds to wait for a pong before dropping a peer.")
    ] = default("ping_timeout"),
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = default(
        "verbose"
    ),
    log_format: Annotated[
        str, typer.Option(help="text, or json: one JSON object per log line.")
    ] = default("log_format"),
    no_metrics: Annotated[
        bool, typer.Option("--no-metrics", help="Do not serve GET /metrics.")
    ] = default("no_metrics"),
    config: Annotated[
        Path | None,
        typer.Option(
            help="TOML file of serve options (keys like the long flags, _ for -).",
            metavar="FILE",
        ),
    ] = None,
) -> None:
    """Run the relay.

    Flags given on the command line win over ``--config``, which wins over
    ``DISPATCH_*`` environment variables, which win over the defaults.
    """

    from dispatch_tui.server.auth import Authenticator, AuthFileError
    from dispatch_tui.server.broker import BrokerError
    from dispatch_tui.server.journal import JournalError
    from dispatch_tui.server.relay import run_until_signalled
    from dispatch_tui.server.settings import SettingsError, load_settings

    given = {
        name: value
        for name, value in context.params.items()
        if name != "config" and _from_command_line(context, name)
    }
    try:
        options = load_settings(given, config)
    except SettingsError as exc:
        fail(Exit.USAGE, str(exc))
    _setup_logging(options.verbose, options.log_format)
    if options.auth is None and not options.insecure and not _is_loopback(options.host):
        fail(
            Exit.USAGE,
            f"refusing to bind {options.host}: without --auth anyone who can reach it could read "
            "and send everything; use a loopback address, --auth FILE, or --insecure",
        )
    if options.auth is not None:
        try:
            Authenticator.from_file(options.auth)
        except AuthFileError as exc:
            fail(Exit.USAGE, str(exc))
    if options.keyfile is not None and options.certfile is None:
        fail(Exit.USAGE, "--keyfile needs --certfile")
    tls = None if options.certfile is None else _server_tls(options.certfile, options.keyfile)
    feeds = _Feeds(source=options.source, source_format=options.source_format, demo=options.demo)
    relay = _build_relay(
        relay_settings(options, tls),
        options.agent,
        options.model,
        options.transcripts_room,
        options.suggestions_room,
        options.idle_gap,
    )
    try:
        _run_relay(run_until_signalled(relay, on_started=feeds.start))
    except JournalError as exc:
        fail(Exit.REFUSED, str(exc))
    except BrokerError as exc:
        fail(Exit.CONNECTION, str(exc))
    except OSError as exc:
        where = f"{options.host}:{options.port}"
        fail(Exit.CONNECTION, f"cannot listen on {where}: {exc.strerror or exc}")


def _run_relay(main: Coroutine[Any, Any, None]) -> None:
    """Run the relay on uvloop where installed (faster fan-out), else on asyncio's own loop."""
    import asyncio

    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


def _from_command_line(context: typer.Context, name: str) -> bool:
    source = context.get_parameter_source(name)
    return source is not None and source.name == "COMMANDLINE"


def relay_settings(options: ServeSettings, tls: ssl.SSLContext | None) -> RelaySettings:
    """What the relay itself takes of the serve options."""
    from dispatch_tui.server.hub import RateLimit
    from dispatch_tui.server.journal import Retention
    from dispatch_tui.server.relay import RelaySettings, default_db_path

    days = options.retention_days
    return RelaySettings(
        host=options.host,
        port=options.port,
        db=options.db if options.db is not None else str(default_db_path()),
        max_message_bytes=options.max_message_bytes,
        max_client_buffer=options.max_client_buffer,
        compression=options.compression,
        ssl_context=tls,
        auth_file=options.auth,
        auth_timeout=options.auth_timeout,
        origins=None if not options.origin else tuple(options.origin),
        rate_limit=RateLimit(options.rate_limit, options.rate_burst)
        if options.rate_limit
        else None,
        max_connections_per_address=options.max_connections_per_address,
        redis_url=options.redis,
        ping_interval=options.ping_interval or None,
        ping_timeout=options.ping_timeout or None,
        retention=Retention(
            max_messages=options.retention_messages,
            max_age_seconds=None if days is None else days * 86400,
        ),
        metrics=not options.no_metrics,
        escalate_after=options.escalate_after,
        supervisors_room=options.supervisors_room,
    )


def _server_tls(certfile: str, keyfile: str | None) -> ssl.SSLContext:
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(certfile, keyfile)
    except (OSError, ssl.SSLError) as exc:
        fail(Exit.USAGE, f"cannot load TLS certificate {certfile}: {exc}")
    return context


SOURCE_FORMATS = ("auto", "native", "deepgram", "assemblyai", "openai", "text")


def _build_relay(
    settings: RelaySettings,
    agent_kind: str,
    model: str | None,
    transcripts_room: str | None,
    suggestions_room: str | None,
    idle_gap: float,
) -> Relay:
    """A relay with its agent and routing, as ``serve`` and ``demo`` set them up."""
    from dispatch_tui.server.agents import AGENT_KINDS, create_agent
    from dispatch_tui.server.pipeline import PipelineSettings
    from dispatch_tui.server.relay import Relay

    if agent_kind not in AGENT_KINDS:
        fail(Exit.USAGE, f"--agent must be one of {', '.join(AGENT_KINDS)}, not {agent_kind!r}")
    if agent_kind == "openai" and not model:
        fail(Exit.USAGE, "--agent openai needs --model (or DISPATCH_MODEL)")
    return Relay(
        settings,
        agent=create_agent(agent_kind, model),
        pipeline=PipelineSettings(
            idle_gap=idle_gap,
            transcripts_room=transcripts_room,
            suggestions_room=suggestions_room,
        ),
    )


class _Feeds:
    """What feeds the relay's pipeline: an upstream source, the demo, or both."""

    def __init__(self, source: str | None, source_format: str, demo: bool) -> None:
        if source_format not in SOURCE_FORMATS:
            fail(Exit.USAGE, f"--source-format must be one of {', '.join(SOURCE_FORMATS)}")
        self.source = source
        self.source_format = source_format
        self.demo = demo

    def start(self, relay: Relay) -> None:
        from dispatch_tui.server.demo import play_demo

        assert relay.pipeline is not None
        if self.demo:
            relay.spawn(play_demo(relay.pipeline), "demo")
        if self.source is not None:
            from dispatch_tui.server.source import connect_source

            relay.spawn(connect_source(relay, self.source, self.source_format), "source")


def _relay_urls(values: list[str] | None) -> list[str]:
    """The relays named by ``--url`` (repeated, or comma-separated), or the default."""
    if not values:
        return [DEFAULT_URL]
    urls = [url.strip() for value in values for url in value.split(",") if url.strip()]
    if not urls:
        fail(Exit.USAGE, "--url: no relay URL given")
    return urls


def _client(
    url: str | list[str] | None,
    token: str | None,
    name: str | None,
    ca_file: str | None = None,
    **options: Any,
) -> DispatchClient:
    """A client of the relays named by ``--url``; a plain string is one relay (demo)."""
    from dispatch_tui.client import DispatchClient

    urls = [url] if isinstance(url, str) else _relay_urls(url)

    ssl_context = None
    if ca_file is not None:
        import ssl

        try:
            ssl_context = ssl.create_default_context(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            fail(Exit.USAGE, f"cannot load --ca-file {ca_file}: {exc}")
    return DispatchClient(urls, token=token, name=name, ssl_context=ssl_context, **options)


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


#: Seconds a message refused as ``unavailable`` (the cluster's Redis away) is retried.
UNAVAILABLE_PATIENCE = 30.0


async def _deliver(client: DispatchClient, event: str, data: dict[str, Any]) -> dict[str, Any]:
    """Send one request until a relay acknowledges it, moving on to the next relay if need be.

    A request counts as done only once its reply came. When the relay goes
    away before replying and other relays were named, the request is sent
    again on the next one that answers, so a publisher outlives a relay's
    kill -9; the price is a possible duplicate, if the lost relay had already
    relayed it. Each relay is given the request at most once. A refusal as
    ``unavailable`` (nothing was stored, sending again is safe) is retried for
    :data:`UNAVAILABLE_PATIENCE` seconds.
    """
    import asyncio
    import time

    from dispatch_tui.client import ConnectionFailed, ServerRefused

    attempts = len(client.urls)
    attempt = 1
    patience = time.monotonic() + UNAVAILABLE_PATIENCE
    while True:
        try:
            return await client.request(event, data)
        except ConnectionFailed as exc:
            if attempt == attempts:
                raise
            attempt += 1
            sys.stderr.write(f"dispatch: {client.url}: {exc}; moving to the next relay\n")
            await client.failover(replay=False)
        except ServerRefused as exc:
            if exc.code != "unavailable" or time.monotonic() > patience:
                raise
            sys.stderr.write(f"dispatch: {exc.message}; trying again\n")
            await asyncio.sleep(1.0)


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
        async with _client(url, token, name, ca_file) as client:
            bodies = _stdin_messages(as_json) if stream else _one(single)
            async for body in bodies:
                if room is None:
                    reply = await _deliver(client, "send_to_all", {"message": body})
                else:
                    request = {"room_name": room, "message": body}
                    reply = await _deliver(client, "send_to_room", request)
                if as_json:
                    _print_json(reply)
                else:
                    data = reply["data"]
                    target = "everyone" if room is None else room
                    sys.stdout.write(
                        f"sent #{data['seq']} to {target} ({data['recipients']} recipients)\n"
                    )
                    sys.stdout.flush()

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
    url: UrlOption = None,
    token: TokenOption = None,
    name: NameOption = None,
    ca_file: CaFileOption = None,
) -> None:
    """Print each event received as one JSON line."""

    async def work() -> None:
        from dispatch_tui.client import ConnectionFailed

        async with _client(url, token, name, ca_file, reconnect=reconnect) as client:
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
    url: UrlOption = None,
    token: TokenOption = None,
    name: NameOption = None,
    ca_file: CaFileOption = None,
) -> None:
    """List rooms with their member counts."""

    def table(reply: dict[str, Any]) -> Any:
        from rich.table import Table

        from dispatch_tui.untrusted import literal

        rendered = Table("room", "members")
        for room_name, members in sorted(reply["data"]["rooms"].items()):
            rendered.add_row(literal(room_name), str(members))
        return rendered

    _query(_client(url, token, name, ca_file), "list_rooms", {}, as_json, table)


@app.command()
def clients(
    room: Annotated[str | None, typer.Option(help="Only members of this room.")] = None,
    as_json: JsonOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
    name: NameOption = None,
    ca_file: CaFileOption = None,
) -> None:
    """List connected clients."""

    def table(reply: dict[str, Any]) -> Any:
        from rich.table import Table

        from dispatch_tui.untrusted import literal

        rendered = Table("address", "name", "role", "rooms")
        for entry in reply["data"]["clients"]:
            rendered.add_row(
                literal(entry.get("address")),
                literal(entry.get("name") or ""),
                literal(entry.get("role") or ""),
                literal(", ".join(entry.get("rooms") or [])),
            )
        return rendered

    data = {} if room is None else {"room_name": room}
    _query(_client(url, token, name, ca_file), "list_clients", data, as_json, table)


def _query(
    client: DispatchClient,
    event: str,
    data: dict[str, Any],
    as_json: bool,
    render: Callable[[dict[str, Any]], Any],
) -> None:
    """Ask the relay once; print the raw reply for scripts or a table for people."""

    async def work() -> None:
        async with client:
            reply = await client.request(event, data)
        if as_json:
            _print_json(reply)
        else:
            _console().print(render(reply))

    _run(work())


@app.command()
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
        async with _client(url, token, name, ca_file) as client:
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


@app.command()
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
        async with _client(url, token, name, ca_file) as client:
            async for segment in play(cues, speed):
                data: dict[str, Any] = {
                    "call_id": segment.call_id,
                    "text": segment.text,
                    "is_final": segment.is_final,
                    "segment_id": segment.segment_id,
                }
                if segment.speaker is not None:
                    data["speaker"] = segment.speaker
                await _deliver(client, "publish_transcript", data)
        sys.stderr.write(f"replayed {len(cues)} fragments of {len(calls)} call(s)\n")

    _run(work())


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


@app.command()
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

    from dispatch_tui.server.agents import create_agent
    from dispatch_tui.server.agents.base import Segment

    if agent not in ("rules", "openai"):
        fail(Exit.USAGE, f"--agent must be rules or openai, not {agent!r}")
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
                _print_json({"call_id": call.call_id, "suggestion": suggestion})
            else:
                _console().print(_suggestion_view(call.call_id, suggestion))

    asyncio.run(work())


def _suggestion_view(call_id: str, suggestion: dict[str, Any]) -> Any:
    """A readable card of one suggestion; every text in it is shown literally."""
    from rich.panel import Panel
    from rich.table import Table

    from dispatch_tui.untrusted import literal

    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row("where", literal(suggestion.get("location") or "unknown"))
    grid.add_row("what", literal(suggestion.get("summary") or ""))
    for label, key in (("ask", "questions"), ("do", "instructions"), ("send", "units")):
        for index, item in enumerate(suggestion.get(key) or []):
            grid.add_row(label if index == 0 else "", literal(item))
    for index, quote in enumerate(suggestion.get("evidence") or []):
        grid.add_row("why" if index == 0 else "", literal(f"\u201c{quote}\u201d"))
    priority = suggestion.get("priority", 3)
    colour = {1: "red", 2: "yellow"}.get(priority, "cyan")
    kind = str(suggestion.get("incident_type", "unknown")).replace("_", " ").upper()
    title = literal(f"P{priority} {kind} \u00b7 {call_id}", style=f"bold {colour}")
    return Panel(grid, title=title, title_align="left", border_style=colour)


@app.command()
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
    _run_console(_client(url, token, name, ca_file, reconnect=True), settings)


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

    _run(work())


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="Port of the embedded relay; 0 picks one.")] = 0,
    speed: Annotated[float, typer.Option(help="Play the calls faster.", min=0.1)] = 1.0,
    plain: Annotated[
        bool,
        typer.Option(
            "--plain", help="Print transcripts and advice instead of opening the console."
        ),
    ] = False,
) -> None:
    """Start an embedded relay playing the demo calls and open the console on it."""

    from dispatch_tui.server.relay import RelaySettings

    relay = _build_relay(RelaySettings(port=port, db=":memory:"), "rules", None, None, None, 1.2)
    console = not plain and sys.stdout.isatty() and sys.stdin.isatty()

    async def work() -> None:
        from dispatch_tui.server.demo import play_demo

        await relay.start()
        assert relay.pipeline is not None
        relay.spawn(play_demo(relay.pipeline, speed), "demo")
        try:
            if console:
                await _demo_console(relay.url)
            else:
                sys.stderr.write(f"demo relay on {relay.url}; Ctrl-C stops\n")
                async with _client(relay.url, None, "demo viewer") as client:
                    async for event in client.events():
                        _show_event(event)
        finally:
            await relay.stop()

    _run(work())


async def _demo_console(url: str) -> None:
    import asyncio

    from dispatch_tui.app import ConsoleSettings, DispatchApp
    from dispatch_tui.demo_units import play_chatter

    client = _client(url, None, "Dispatcher (demo)", reconnect=True)
    await client.connect()
    chatter = asyncio.create_task(play_chatter(url))
    try:
        console = DispatchApp(client, ConsoleSettings(rooms=("dispatch_center", "field_ops")))
        await console.run_async()
    finally:
        chatter.cancel()
    if console.failure is not None:
        code, message = console.failure
        fail(Exit(code), message)


def _show_event(event: dict[str, Any]) -> None:
    """One line per transcript, a card per suggestion, for people watching."""
    from dispatch_tui.untrusted import literal

    data = event.get("data") or {}
    kind = event.get("event")
    if kind == "transcript" and data.get("is_final"):
        line = literal(f"{data.get('call_id')}  {data.get('speaker') or '?':>10}  ", "dim")
        line.append_text(literal(data.get("text", "")))
        _console().print(line)
    elif kind == "ai_suggestion":
        _console().print(_suggestion_view(str(data.get("call_id")), data.get("suggestion") or {}))


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
