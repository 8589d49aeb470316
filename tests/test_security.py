"""Who gets in and what they may do: tokens, roles, reloads, origins, TLS, limits."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import signal
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from dispatch_tui.client import DispatchClient
from dispatch_tui.server.hub import RateLimit
from dispatch_tui.server.relay import Relay, RelaySettings
from tests.conftest import RelayProcess, client, recv_event, recv_json, request

DISPATCHER_TOKEN = "disp-secret-1f0c"
FIELD_TOKEN = "field-secret-77aa"
SOURCE_TOKEN = "source-secret-93bd"
TOKENS = (DISPATCHER_TOKEN, FIELD_TOKEN, SOURCE_TOKEN)


def auth_file(path: Path, *, with_field_user: bool = True) -> Path:
    field_digest = hashlib.sha256(FIELD_TOKEN.encode()).hexdigest()
    field_user = f"""
[[users]]
name = "Unit 23"
role = "field"
token_sha256 = "{field_digest}"
"""
    path.write_text(
        f"""
[roles.dispatcher]
rooms = ["*"]
broadcast = true
publish = false

[roles.field]
rooms = ["field_*"]
broadcast = false

[roles.source]
publish = true

[[users]]
name = "Dispatcher 3"
role = "dispatcher"
token = "{DISPATCHER_TOKEN}"

[[users]]
name = "Speech to text"
role = "source"
token = "{SOURCE_TOKEN}"
{field_user if with_field_user else ""}
"""
    )
    return path


@pytest.fixture
async def secured(tmp_path: Path) -> AsyncIterator[Relay]:
    settings = RelaySettings(
        port=0,
        db=str(tmp_path / "journal.sqlite3"),
        auth_file=str(auth_file(tmp_path / "auth.toml")),
        auth_timeout=1.0,
    )
    relay = Relay(settings)
    await relay.start()
    try:
        yield relay
    finally:
        await relay.stop()


def bearer(token: str) -> dict[str, Any]:
    return {"additional_headers": {"Authorization": f"Bearer {token}"}}


async def closed_with(ws: ClientConnection, timeout: float = 10.0) -> tuple[int | None, str]:
    """Read until the relay closes; the close code and reason."""
    try:
        async with asyncio.timeout(timeout):
            async for _ in ws:
                pass
    except ConnectionClosed:
        pass
    assert ws.close_code is not None, "the relay did not close the connection"
    return ws.close_code, ws.close_reason or ""


async def test_no_token_is_closed_1008_after_the_auth_timeout(secured: Relay) -> None:
    async with connect(secured.url) as ws:
        error = await recv_json(ws)
        assert error["event"] == "error"
        assert error["data"]["code"] == "forbidden"
        assert await closed_with(ws) == (
            1008,
            "authentication required: send auth with a token first",
        )
        with pytest.raises(ConnectionClosed):
            await ws.send(json.dumps({"event": "auth", "data": {"token": DISPATCHER_TOKEN}}))


async def test_a_wrong_bearer_token_refuses_the_handshake(secured: Relay) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(secured.url, **bearer("not-a-token")):
            pass
    assert refused.value.response.status_code == 401


async def test_a_good_bearer_token_gets_the_users_name_and_role(secured: Relay) -> None:
    async with connect(secured.url, **bearer(DISPATCHER_TOKEN)) as ws:
        welcome = await recv_json(ws)
        assert welcome["event"] == "welcome"
        assert welcome["data"]["name"] == "Dispatcher 3"
        assert welcome["data"]["role"] == "dispatcher"
        await request(ws, "identify", {"name": "Someone Else"})
        assert (await recv_event(ws, "identified"))["data"]["name"] == "Dispatcher 3"


async def test_first_message_auth_for_browsers(secured: Relay) -> None:
    async with connect(secured.url) as ws:
        await ws.send(json.dumps({"event": "auth", "data": {"token": FIELD_TOKEN}}))
        welcome = await recv_json(ws)
        assert welcome["data"]["name"] == "Unit 23"
        assert welcome["data"]["role"] == "field"
        await request(ws, "join_room", {"room_name": "field_ops"})
        assert (await recv_event(ws, "room_joined"))["data"]["room_name"] == "field_ops"
    async with connect(secured.url) as ws:
        await ws.send(json.dumps({"event": "auth", "data": {"token": "wrong"}}))
        assert (await recv_json(ws))["data"]["code"] == "forbidden"
        assert await closed_with(ws) == (1008, "invalid token")
    async with connect(secured.url) as ws:
        await ws.send(json.dumps({"event": "list_rooms"}))
        assert await closed_with(ws) == (1008, "authentication required")


async def test_a_role_is_refused_what_it_may_not_do_and_nothing_is_delivered(
    secured: Relay,
) -> None:
    async with (
        connect(secured.url, **bearer(DISPATCHER_TOKEN)) as dispatcher,
        connect(secured.url, **bearer(FIELD_TOKEN)) as unit,
    ):
        await recv_event(dispatcher, "status")
        await recv_event(unit, "status")
        await request(dispatcher, "join_room", {"room_name": "dispatch_center"})
        await recv_event(dispatcher, "room_joined")
        refused = [
            ("join_room", {"room_name": "dispatch_center"}),
            ("send_to_room", {"room_name": "dispatch_center", "message": "let me in"}),
            ("send_to_all", {"message": "to everyone"}),
            ("publish_transcript", {"call_id": "c1", "text": "fake call", "is_final": True}),
            ("history", {"room_name": "dispatch_center"}),
        ]
        for event, data in refused:
            await request(unit, event, data, id=event)
            error = await recv_event(unit, "error")
            assert error["data"]["code"] == "forbidden", event
            assert error["id"] == event
        await request(dispatcher, "send_to_all", {"message": "marker"})
        await recv_event(dispatcher, "sent")
        await request(dispatcher, "list_clients")
        clients = (await recv_event(dispatcher, "clients_list"))["data"]["clients"]
        assert {(c["name"], c["role"]) for c in clients} == {
            ("Dispatcher 3", "dispatcher"),
            ("Unit 23", "field"),
        }
        first = await recv_event(unit, "client_message")
        assert first["data"]["message"] == "marker"
    async with connect(secured.url, **bearer(SOURCE_TOKEN)) as source:
        await recv_event(source, "status")
        await request(
            source, "publish_transcript", {"call_id": "c1", "text": "help", "is_final": True}
        )
        assert (await recv_event(source, "sent"))["data"]["seq"] > 0


async def test_tokens_never_reach_the_logs(
    secured: Relay, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for token in ("wrong-secret-token", DISPATCHER_TOKEN):
        try:
            async with connect(secured.url, **bearer(token)) as ws:
                await recv_event(ws, "status")
        except InvalidStatus:
            pass
    for token in ("another-wrong-secret", FIELD_TOKEN):
        async with connect(secured.url) as ws:
            await ws.send(json.dumps({"event": "auth", "data": {"token": token}}))
            await recv_json(ws)
    assert "invalid token" in caplog.text
    for token in (*TOKENS, "wrong-secret-token", "another-wrong-secret"):
        assert token not in caplog.text


def test_sighup_reloads_the_auth_file_and_closes_removed_users(
    relay_process: type[RelayProcess], tmp_path: Path
) -> None:
    path = auth_file(tmp_path / "auth.toml")
    relay = relay_process("--db", str(tmp_path / "j.sqlite3"), "--auth", str(path), "-v").start()

    async def scenario() -> None:
        async with (
            connect(relay.url, **bearer(FIELD_TOKEN)) as unit,
            connect(relay.url, **bearer(DISPATCHER_TOKEN)) as dispatcher,
        ):
            await recv_event(unit, "status")
            await recv_event(dispatcher, "status")
            auth_file(path, with_field_user=False)
            relay.signal(signal.SIGHUP)
            assert await closed_with(unit) == (1008, "credentials revoked")
            await request(dispatcher, "list_rooms")
            await recv_event(dispatcher, "rooms_list")
        with pytest.raises(InvalidStatus):
            async with connect(relay.url, **bearer(FIELD_TOKEN)):
                pass

    asyncio.run(scenario())
    relay.signal(signal.SIGTERM)
    assert relay.wait() == 0
    assert relay.process is not None and relay.process.stderr is not None
    logs = relay.process.stderr.read()
    assert "auth file reloaded" in logs
    assert not any(token in logs for token in TOKENS)


def test_a_public_host_without_auth_is_refused_with_the_reason() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dispatch_tui", "serve", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "refusing to bind 0.0.0.0" in result.stderr
    assert "--auth" in result.stderr


def test_a_broken_auth_file_is_a_usage_error(tmp_path: Path) -> None:
    broken = tmp_path / "auth.toml"
    broken.write_text(
        '[roles.x]\nrooms = ["*"]\n[[users]]\nname = "a"\nrole = "nope"\ntoken = "t"\n'
    )
    result = subprocess.run(
        [sys.executable, "-m", "dispatch_tui", "serve", "--port", "0", "--auth", str(broken)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "unknown role 'nope'" in result.stderr
    assert "Traceback" not in result.stderr


async def relay_with(tmp_path: Path, **settings: Any) -> Relay:
    relay = Relay(RelaySettings(port=0, db=str(tmp_path / "journal.sqlite3"), **settings))
    await relay.start()
    return relay


async def test_only_listed_browser_origins_get_in(tmp_path: Path) -> None:
    relay = await relay_with(tmp_path, origins=("https://console.example",))
    try:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(relay.url, origin="https://evil.example"):  # type: ignore[arg-type]
                pass
        assert refused.value.response.status_code == 403
        async with client(relay.url, origin="https://console.example"):
            pass
        async with client(relay.url):
            pass
    finally:
        await relay.stop()


async def test_tls_with_a_certificate_made_by_the_test(tmp_path: Path) -> None:
    authority = trustme.CA()
    authority.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    authority.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)
    relay = await relay_with(tmp_path, ssl_context=server_context)
    try:
        assert relay.url.startswith("wss://")
        trusting = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
        async with DispatchClient(relay.url, ssl_context=trusting) as dispatch:
            reply = await dispatch.join("dispatch_center")
            assert reply.room_name == "dispatch_center"
        base = [sys.executable, "-m", "dispatch_tui", "rooms", "--url", relay.url, "--json"]
        trusted = await asyncio.to_thread(
            subprocess.run,
            [*base, "--ca-file", str(tmp_path / "ca.pem")],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert trusted.returncode == 0, trusted.stderr
        assert json.loads(trusted.stdout)["event"] == "rooms_list"
        untrusted = await asyncio.to_thread(
            subprocess.run, base, capture_output=True, text=True, timeout=60
        )
        assert untrusted.returncode == 3
        assert "certificate" in untrusted.stderr.lower()
    finally:
        await relay.stop()


async def test_a_flooding_client_is_rate_limited_then_closed_while_others_carry_on(
    tmp_path: Path,
) -> None:
    relay = await relay_with(tmp_path, rate_limit=RateLimit(per_second=20, burst=20, strikes=10))
    try:
        async with (
            client(relay.url) as flooder,
            client(relay.url) as sender,
            client(relay.url) as reader,
        ):
            await request(reader, "join_room", {"room_name": "ops"})
            await recv_event(reader, "room_joined")
            frame = json.dumps(
                {"event": "send_to_room", "data": {"room_name": "flood", "message": "x"}}
            )
            for _ in range(200):
                try:
                    await flooder.send(frame)
                except ConnectionClosed:
                    break
            codes = []
            try:
                async with asyncio.timeout(20):
                    async for raw in flooder:
                        message = json.loads(raw)
                        if message["event"] == "error":
                            codes.append(message["data"]["code"])
            except ConnectionClosed:
                pass
            assert "rate_limited" in codes
            assert (flooder.close_code, flooder.close_reason) == (1008, "rate limit exceeded")
            for number in range(10):
                await request(sender, "send_to_room", {"room_name": "ops", "message": number})
                await recv_event(sender, "sent")
            got = [
                (await recv_event(reader, "client_message"))["data"]["message"] for _ in range(10)
            ]
            assert got == list(range(10))
    finally:
        await relay.stop()


async def test_connections_per_address_are_capped(tmp_path: Path) -> None:
    relay = await relay_with(tmp_path, max_connections_per_address=2)
    try:
        async with client(relay.url), client(relay.url):
            with pytest.raises(InvalidStatus) as refused:
                async with connect(relay.url):
                    pass
            assert refused.value.response.status_code == 429
        async with client(relay.url):
            pass
    finally:
        await relay.stop()


async def test_a_dead_peer_leaves_its_rooms_within_the_keepalive_bound(tmp_path: Path) -> None:
    relay = await relay_with(tmp_path, ping_interval=1.0, ping_timeout=3.0)
    try:
        dead = await connect(relay.url, ping_interval=None)
        try:
            async with client(relay.url) as watcher:
                await request(dead, "join_room", {"room_name": "field_ops"})
                await recv_event(dead, "room_joined")
                dead.transport.pause_reading()
                async with asyncio.timeout(30):
                    while True:
                        await request(watcher, "list_rooms")
                        rooms = (await recv_event(watcher, "rooms_list"))["data"]["rooms"]
                        if "field_ops" not in rooms:
                            break
                        await asyncio.sleep(0.2)
        finally:
            dead.transport.abort()
    finally:
        await relay.stop()


async def test_a_rate_limited_message_is_refused_with_its_id(tmp_path: Path) -> None:
    """A script can tell which message was dropped: the refusal echoes its ``id``."""
    relay = await relay_with(tmp_path, rate_limit=RateLimit(per_second=0.01, burst=2, strikes=50))
    try:
        async with client(relay.url) as sender:
            for number in range(5):
                await request(
                    sender, "send_to_room", {"room_name": "ops", "message": number}, id=f"m{number}"
                )
            replies = {}
            for _ in range(5):
                message = await recv_json(sender)
                replies[message["id"]] = message
            assert [replies[f"m{n}"]["event"] for n in range(5)] == ["sent"] * 2 + ["error"] * 3
            for number in range(2, 5):
                refused = replies[f"m{number}"]["data"]
                assert refused["code"] == "rate_limited"
                assert refused["event"] == "send_to_room"
            await sender.send("{not json")
            assert (await recv_json(sender))["data"]["code"] == "rate_limited"
    finally:
        await relay.stop()
