"""The scripting commands against a real relay process: output, stdin, --json, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dispatch_tui.cli.command import app
from tests.conftest import RelayProcess

runner = CliRunner()


@pytest.fixture(scope="module")
def relay_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("cli") / "journal.sqlite3"
    process = RelayProcess("--db", str(db)).start()
    try:
        yield process.url
    finally:
        process.stop()


def dispatch(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_send_json_prints_the_sent_reply_and_history_returns_it(relay_url: str) -> None:
    code, out, err = dispatch(
        "send", "--url", relay_url, "--room", "ops", "--json", '{"unit": 5, "status": "en route"}'
    )
    assert code == 0, err
    reply = json.loads(out)
    assert reply["event"] == "sent"
    assert reply["data"]["room"] == "ops"
    seq = reply["data"]["seq"]

    code, out, err = dispatch("history", "--url", relay_url, "--room", "ops", "--json")
    assert code == 0, err
    messages = [json.loads(line) for line in out.splitlines()]
    assert any(
        m["data"]["seq"] == seq and m["data"]["message"] == {"unit": 5, "status": "en route"}
        for m in messages
    )


def test_send_reads_one_message_per_stdin_line(relay_url: str) -> None:
    code, out, err = dispatch(
        "send",
        "--url",
        relay_url,
        "--room",
        "stdin_room",
        "--json",
        "-",
        stdin='"one"\n"two"\n\n3\n',
    )
    assert code == 0, err
    replies = [json.loads(line) for line in out.splitlines()]
    assert [r["event"] for r in replies] == ["sent", "sent", "sent"]
    code, out, _ = dispatch("history", "--url", relay_url, "--room", "stdin_room", "--json")
    assert [json.loads(line)["data"]["message"] for line in out.splitlines()] == ["one", "two", 3]


def test_send_plain_text_from_stdin_without_argument(relay_url: str) -> None:
    code, out, err = dispatch(
        "send", "--url", relay_url, "--all", "--name", "script", stdin="hello all\n"
    )
    assert code == 0, err
    assert "sent #" in out
    code, out, _ = dispatch("history", "--url", relay_url, "--json")
    last = json.loads(out.splitlines()[-1])
    assert last["data"]["message"] == "hello all"
    assert last["data"]["broadcast"] is True
    assert last["data"]["name"] == "script"


def test_rooms_and_clients_tables_and_json(relay_url: str) -> None:
    code, out, err = dispatch("rooms", "--url", relay_url, "--json")
    assert code == 0, err
    assert json.loads(out)["event"] == "rooms_list"
    code, out, err = dispatch("rooms", "--url", relay_url)
    assert code == 0, err
    assert "members" in out
    code, out, err = dispatch("clients", "--url", relay_url, "--name", "lister", "--json")
    assert code == 0, err
    clients = json.loads(out)["data"]["clients"]
    assert any(c["name"] == "lister" for c in clients)
    code, out, err = dispatch("clients", "--url", relay_url, "--name", "lister")
    assert code == 0, err
    assert "lister" in out


def test_history_table_shows_markup_literally(relay_url: str) -> None:
    dispatch("send", "--url", relay_url, "--room", "lit", "[bold]X[/] \x1b[2J")
    code, out, err = dispatch("history", "--url", relay_url, "--room", "lit")
    assert code == 0, err
    assert "[bold]X[/]" in out
    assert "\x1b" not in out


def test_listen_prints_events_as_json_lines_and_stops_after_count(relay_url: str) -> None:
    listener = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dispatch_tui",
            "listen",
            "--url",
            relay_url,
            "--room",
            "listen_room",
            "--count",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Keep sending until the listener has joined and taken two messages.
        for n in range(200):
            dispatch("send", "--url", relay_url, "--room", "listen_room", f"msg {n}")
            try:
                out, err = listener.communicate(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                continue
        else:
            pytest.fail("listen did not stop after --count 2")
    finally:
        listener.kill()
    assert listener.returncode == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    assert len(events) == 2
    assert all(e["event"] == "client_message" for e in events)
    first, second = (e["data"]["message"] for e in events)
    assert int(second.split()[1]) == int(first.split()[1]) + 1


def test_exit_1_when_the_relay_refuses(relay_url: str) -> None:
    code, _out, err = dispatch("send", "--url", relay_url, "--room", "x" * 65, "hi")
    assert code == 1
    assert err.startswith("dispatch: relay refused: invalid_data")
    assert len(err.strip().splitlines()) == 1


def test_exit_2_on_usage_errors(relay_url: str) -> None:
    assert dispatch("send", "--url", relay_url, "hi")[0] == 2
    assert dispatch("send", "--url", relay_url, "--room", "r", "--all", "hi")[0] == 2
    code, _, err = dispatch("send", "--url", relay_url, "--room", "r", "--json", "{not json")
    assert code == 2
    assert "not valid JSON" in err
    assert dispatch("history", "--limit", "0")[0] == 2
    assert dispatch("no-such-command")[0] == 2


def test_exit_3_when_the_relay_cannot_be_reached() -> None:
    code, _, err = dispatch("rooms", "--url", "ws://127.0.0.1:9")
    assert code == 3
    assert err.startswith("dispatch: cannot connect to ws://127.0.0.1:9")
    assert dispatch("send", "--url", "not a url", "--all", "x")[0] == 3


def test_exit_3_when_the_connection_is_lost(tmp_path: Path) -> None:
    process = RelayProcess("--db", str(tmp_path / "j.sqlite3")).start()
    listener = subprocess.Popen(
        [sys.executable, "-m", "dispatch_tui", "listen", "--url", process.url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(100):
            _code, out, _ = dispatch("clients", "--url", process.url, "--json")
            if len(json.loads(out)["data"]["clients"]) >= 2:
                break
        process.stop()
        _, err = listener.communicate(timeout=60)
    finally:
        listener.kill()
        process.stop()
    assert listener.returncode == 3
    assert err.startswith("dispatch: connection to the relay lost")
    assert "Traceback" not in err


def test_real_command_prints_one_line_and_no_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dispatch_tui", "rooms", "--url", "ws://127.0.0.1:9"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 3
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_help_and_send_do_not_import_textual_or_openai() -> None:
    probe = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from dispatch_tui.cli.command import app\n"
        "CliRunner().invoke(app, ['--help'])\n"
        "CliRunner().invoke(app, ['send', '--url', 'ws://127.0.0.1:9', '--all', 'x'])\n"
        "heavy = [m for m in ('textual', 'openai') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
