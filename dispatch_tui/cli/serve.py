"""``dispatch serve``, which runs the relay, and ``dispatch demo``, which runs one inside.

The serve options are read into :class:`ServeSettings` (flags, ``--config``,
environment, defaults) and then copied into what the relay, its agent, its
pipeline and its feeds each take.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dispatch_tui.cli.connection import relay_client, run_command
from dispatch_tui.cli.exit_codes import Exit, fail
from dispatch_tui.cli.render import show_event
from dispatch_tui.server.settings import default
from dispatch_tui.server.sources.registry import SOURCE_FORMATS

if TYPE_CHECKING:
    import ssl

    from dispatch_tui.server.relay import Relay, RelaySettings
    from dispatch_tui.server.settings import ServeSettings


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
    write_interval: Annotated[
        float,
        typer.Option(help="Seconds between writes to the clients at least, while messages flow."),
    ] = default("write_interval"),
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
        typer.Option(help=f"{', '.join(SOURCE_FORMATS[:-1])} or {SOURCE_FORMATS[-1]}."),
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
        write_interval=options.write_interval,
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
            from dispatch_tui.server.sources.upstream import connect_source

            relay.spawn(connect_source(relay, self.source, self.source_format), "source")


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _setup_logging(verbose: bool, log_format: str = "text") -> None:
    from dispatch_tui.logs import configure

    configure(logging.DEBUG if verbose else logging.INFO, log_format)


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
                async with relay_client(relay.url, None, "demo viewer") as client:
                    async for event in client.events():
                        show_event(event)
        finally:
            await relay.stop()

    run_command(work())


async def _demo_console(url: str) -> None:
    import asyncio

    from dispatch_tui.app import ConsoleSettings, DispatchApp
    from dispatch_tui.demo_units import play_chatter

    client = relay_client(url, None, "Dispatcher (demo)", reconnect=True)
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
