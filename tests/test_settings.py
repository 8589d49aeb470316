"""``dispatch serve --config``: a TOML file of options, flags over file over environment."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from dispatch_tui.server.settings import ServeSettings, SettingsError, load_settings
from tests.conftest import client, recv_event, request
from tests.redis_server import free_port
from tests.test_security import DISPATCHER_TOKEN, auth_file


def serve(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "dispatch_tui", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )


@contextmanager
def running(
    *args: str, env: dict[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """A relay started with ``args``; yields its URL once it listens."""
    process = serve(*args, env=env)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("dispatch relay listening on "), process.stderr.read()  # type: ignore[union-attr]
        yield line.split()[-1], process
    finally:
        process.terminate()
        process.wait(30)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_values_from_the_file_are_applied(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "relay.toml"
    config.write_text(
        f'port = {port}\nmax_message_bytes = 200\ndb = ":memory:"\n'
        'origin = ["https://console.example"]\nrate_limit = 0\n'
    )
    with running("--config", str(config)) as (url, _):
        assert url == f"ws://127.0.0.1:{port}"

        async def oversized_frame_is_refused() -> None:
            async with client(url) as ws:
                await ws.send(json.dumps({"event": "list_rooms", "pad": "x" * 400}))
                with pytest.raises(ConnectionClosed) as closed:
                    while True:
                        await asyncio.wait_for(ws.recv(), 10)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009

        async def other_origins_are_refused() -> None:
            from websockets.exceptions import InvalidStatus

            with pytest.raises(InvalidStatus):
                async with connect(url, origin="https://elsewhere.example"):  # type: ignore[arg-type]
                    pass

        asyncio.run(oversized_frame_is_refused())
        asyncio.run(other_origins_are_refused())


def test_a_flag_wins_over_the_file_which_wins_over_the_environment(tmp_path: Path) -> None:
    file_port, flag_port = free_port(), free_port()
    config = tmp_path / "relay.toml"
    config.write_text(f'port = {file_port}\ndb = ":memory:"\n')
    env = {"DISPATCH_PORT": str(free_port()), "DISPATCH_MAX_MESSAGE_BYTES": "300"}
    with running("--config", str(config), "--port", str(flag_port), env=env) as (url, _):
        assert url.endswith(f":{flag_port}")
    with running("--config", str(config), env=env) as (url, _):
        assert url.endswith(f":{file_port}")

    settings = load_settings({"port": 1}, config)
    assert settings.port == 1
    os.environ["DISPATCH_RATE_BURST"] = "7"
    try:
        assert load_settings({}, config).rate_burst == 7
        config.write_text("rate_burst = 9\n")
        assert load_settings({}, config).rate_burst == 9
    finally:
        del os.environ["DISPATCH_RATE_BURST"]
    assert load_settings({}).rate_burst == ServeSettings.model_fields["rate_burst"].default


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ("port = 8899\nmax_client_bufer = 10\n", "max_client_bufer"),
        ('port = "high"\n', "port"),
        ("ping_interval = -3\n", "ping_interval"),
        ("port = [\n", "not valid TOML"),
    ],
)
def test_an_unknown_key_or_a_bad_value_exits_2_naming_it(
    tmp_path: Path, content: str, named: str
) -> None:
    config = tmp_path / "relay.toml"
    config.write_text(content)
    result = subprocess.run(
        [sys.executable, "-m", "dispatch_tui", "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0], result.stderr
    with pytest.raises(SettingsError, match=named):
        load_settings({}, config)


def test_json_logs_parse_line_by_line_and_carry_no_token(tmp_path: Path) -> None:
    auth = auth_file(tmp_path / "auth.toml")
    args = ("--port", "0", "--db", ":memory:", "--auth", str(auth), "-v", "--log-format", "json")
    with running(*args) as (url, process):

        async def talk() -> None:
            headers = {"Authorization": f"Bearer {DISPATCHER_TOKEN}"}
            async with client(url, additional_headers=headers) as ws:
                await request(ws, "send_to_room", {"room_name": "ops", "message": "hello"})
                await recv_event(ws, "sent")
            async with connect(url) as browser:
                await browser.send(
                    json.dumps({"event": "auth", "data": {"token": DISPATCHER_TOKEN}})
                )
                await recv_event(browser, "welcome")

        asyncio.run(talk())
        process.terminate()
        assert process.stderr is not None
        text = process.stderr.read()
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) > 3
    for line in lines:
        record = json.loads(line)
        assert {"time", "level", "logger", "message"} <= set(record)
    assert DISPATCHER_TOKEN not in text


def test_the_example_in_the_docs_is_a_complete_valid_config(tmp_path: Path) -> None:
    import re

    docs = (Path(__file__).resolve().parent.parent / "docs" / "cli.md").read_text()
    example = re.search(r"### The config file.*?```toml\n(.*?)```", docs, re.DOTALL)
    assert example is not None
    config = tmp_path / "relay.toml"
    config.write_text(example.group(1))
    settings = load_settings({}, config)
    assert set(tomllib.loads(example.group(1))) == set(ServeSettings.model_fields)
    assert settings.log_format == "json" and settings.origin == ["https://console.example.org"]


def test_the_write_interval_reaches_the_relay_and_zero_turns_it_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dispatch_tui.cli.serve import relay_settings
    from dispatch_tui.server.relay import DEFAULT_WRITE_INTERVAL, Relay

    assert relay_settings(load_settings({}), None).write_interval == DEFAULT_WRITE_INTERVAL
    monkeypatch.setenv("DISPATCH_WRITE_INTERVAL", "0")
    settings = relay_settings(load_settings({}), None)
    assert Relay(settings).outbox.write_interval == 0
    assert relay_settings(load_settings({"write_interval": 0.02}), None).write_interval == 0.02
    with pytest.raises(SettingsError, match="write_interval"):
        load_settings({"write_interval": -1})


def relay_log_after_a_round_trip(env: dict[str, str] | None = None) -> str:
    """Start ``dispatch serve``, send one message and read its ack, stop it; its log."""
    process = serve("--port", "0", "--db", ":memory:", env=env)
    try:
        assert process.stdout is not None and process.stderr is not None
        line = process.stdout.readline()
        assert line.startswith("dispatch relay listening on "), process.stderr.read()

        async def round_trip() -> None:
            async with client(line.split()[-1]) as ws:
                await request(ws, "send_to_room", {"room_name": "ops", "message": "test"})
                await recv_event(ws, "sent")

        asyncio.run(round_trip())
    finally:
        process.terminate()
        process.wait(30)
    log = process.stderr.read()
    for stream in (process.stdout, process.stderr):
        stream.close()
    return log


def test_the_relay_runs_on_uvloop_where_it_is_installed() -> None:
    assert "event loop uvloop" in relay_log_after_a_round_trip()


def test_without_uvloop_the_relay_runs_on_asyncios_own_loop(tmp_path: Path) -> None:
    (tmp_path / "uvloop.py").write_text('raise ImportError("uvloop is not installed here")\n')
    path = os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])
    log = relay_log_after_a_round_trip(env={"PYTHONPATH": path})
    assert "event loop asyncio" in log, log
