"""OpenAIAgent with the real openai client against a small local OpenAI-compatible server."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from dispatch_tui.protocol import Suggestion
from dispatch_tui.server.agents.base import Agent, Segment
from dispatch_tui.server.agents.openai_agent import (
    KNOWN_TYPES,
    PLACEHOLDER_API_KEY,
    OpenAIAgent,
    extract_json_object,
    suggestion_schema,
)

TIMEOUT = 60.0
API_KEY = "sk-test-SECRET-0123456789abcdef"
MODEL = "test-model-1"

SEGMENTS = [
    Segment("dispatcher", "911, what is the address of your emergency?"),
    Segment(None, "12 Elm Street, my husband collapsed and he's not breathing!"),
]
GOOD: dict[str, Any] = {
    "incident_type": "cardiac_arrest",
    "priority": 1,
    "confidence": 0.9,
    "summary": "Adult male collapsed, not breathing",
    "location": "12 Elm Street",
    "questions": ["Is he breathing normally?"],
    "instructions": ["Start chest compressions: push hard and fast"],
    "units": ["ALS ambulance", "fire engine"],
    "evidence": ["he's not breathing"],
}
FALLBACK = Suggestion(incident_type="unknown", priority=3, summary="from the stub agent")


class StubAgent(Agent):
    """The fallback: counts its calls and always gives :data:`FALLBACK`."""

    name = "stub"

    def __init__(self) -> None:
        self.calls = 0

    async def suggest(self, segments: Sequence[Segment]) -> Suggestion:
        self.calls += 1
        return FALLBACK


# -- the fake OpenAI-compatible server -------------------------------------------------


@dataclass
class Reply:
    """What the server answers to one request."""

    status: int = 200
    content: str | None = None
    error: str = "something went wrong"
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False


@dataclass
class Received:
    body: dict[str, Any]
    headers: dict[str, str]


Handler = Callable[[int, dict[str, Any]], Reply]


def replies(*script: Reply) -> Handler:
    """Answer the n-th request with the n-th reply, then repeat the last one."""
    return lambda index, body: script[min(index, len(script) - 1)]


class FakeOpenAI:
    """``POST /v1/chat/completions`` on 127.0.0.1, answering as ``handler`` says."""

    def __init__(self) -> None:
        self.handler: Handler = replies(Reply(content=json.dumps(GOOD)))
        self.received: list[Received] = []
        self.release = threading.Event()
        self._lock = threading.Lock()
        fake = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                with fake._lock:
                    index = len(fake.received)
                    fake.received.append(
                        Received(body, {k.lower(): v for k, v in self.headers.items()})
                    )
                if self.path != "/v1/chat/completions":
                    self._send_json(404, {"error": {"message": "no such route"}})
                    return
                reply = fake.handler(index, body)
                try:
                    if reply.hang:
                        fake.release.wait(TIMEOUT)
                        return
                    if reply.status != 200:
                        error = {"message": reply.error, "type": "test_error", "code": None}
                        self._send_json(reply.status, {"error": error}, reply.headers)
                    elif body.get("stream"):
                        self._send_stream(reply.content or "", body)
                    else:
                        self._send_json(200, completion(reply.content, body))
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _send_json(
                self, status: int, payload: Any, headers: dict[str, str] | None = None
            ) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def _send_stream(self, content: str, body: dict[str, Any]) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                pieces = [content[i : i + 7] for i in range(0, len(content), 7)]
                deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
                deltas += [{"content": piece} for piece in pieces]
                for number, delta in enumerate(deltas):
                    self._event(chunk(body, delta, None, number))
                self._event(chunk(body, {}, "stop", len(deltas)))
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

            def _event(self, payload: dict[str, Any]) -> None:
                self.wfile.write(b"data: " + json.dumps(payload).encode() + b"\n\n")
                self.wfile.flush()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
        self._server.daemon_threads = True
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.received)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(TIMEOUT)


def completion(content: str | None, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": body.get("model", MODEL),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    }


def chunk(
    body: dict[str, Any], delta: dict[str, Any], finish_reason: str | None, number: int
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000 + number,
        "model": body.get("model", MODEL),
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


def rejects_json_schema(index: int, body: dict[str, Any]) -> Reply:
    """An endpoint that knows no structured output and answers in a fenced block."""
    if "response_format" in body:
        return Reply(
            status=400,
            error="Invalid parameter: 'response_format' of type 'json_schema' is not supported",
        )
    return Reply(content=f"Sure, here it is:\n```json\n{json.dumps(GOOD, indent=2)}\n```\n")


# -- fixtures ---------------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI()
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


@dataclass
class Health:
    changes: list[tuple[bool, str | None]] = field(default_factory=list)

    def __call__(self, ok: bool, detail: str | None) -> None:
        self.changes.append((ok, detail))


AgentFactory = Callable[..., OpenAIAgent]


@pytest.fixture
async def make_agent(server: FakeOpenAI) -> AsyncIterator[AgentFactory]:
    agents: list[OpenAIAgent] = []

    def factory(**options: Any) -> OpenAIAgent:
        settings: dict[str, Any] = {
            "model": MODEL,
            "api_key": API_KEY,
            "base_url": server.base_url,
            "timeout": 20.0,
            "attempts": 3,
        }
        settings.update(options)
        fallback = settings.pop("fallback", None) or StubAgent()
        agent = OpenAIAgent(fallback, **settings)
        agents.append(agent)
        return agent

    yield factory
    for agent in agents:
        await agent.aclose()


async def suggest(agent: OpenAIAgent, segments: Sequence[Segment] = SEGMENTS) -> Suggestion:
    return await asyncio.wait_for(agent.suggest(segments), TIMEOUT)


# -- scenarios --------------------------------------------------------------------------


async def test_good_json(server: FakeOpenAI, make_agent: AgentFactory) -> None:
    stub = StubAgent()
    health = Health()
    agent = make_agent(fallback=stub, on_health=health)

    suggestion = await suggest(agent)

    assert suggestion == Suggestion.model_validate(GOOD)
    assert stub.calls == 0
    assert agent.last_error is None
    assert agent.healthy
    assert health.changes == []
    assert server.count == 1


async def test_request_carries_model_transcript_and_schema(
    server: FakeOpenAI, make_agent: AgentFactory
) -> None:
    await suggest(make_agent())

    request = server.received[0]
    assert request.body["model"] == MODEL
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    messages = request.body["messages"]
    assert messages[0]["role"] == "system"
    assert "cardiac_arrest" in messages[0]["content"]
    assert "noise_complaint | 5" in messages[0]["content"]
    user = messages[-1]["content"]
    assert "caller: 12 Elm Street, my husband collapsed and he's not breathing!" in user
    assert "dispatcher: 911, what is the address of your emergency?" in user
    response_format = request.body["response_format"]
    assert response_format["type"] == "json_schema"
    json_schema = response_format["json_schema"]
    assert json_schema["strict"] is True
    assert json_schema["schema"] == suggestion_schema()
    assert set(json_schema["schema"]["required"]) == set(Suggestion.model_fields)
    assert set(json_schema["schema"]["properties"]["incident_type"]["enum"]) == KNOWN_TYPES
    assert "stream" not in request.body or request.body["stream"] is False


async def test_good_json_streamed(server: FakeOpenAI, make_agent: AgentFactory) -> None:
    stub = StubAgent()
    agent = make_agent(fallback=stub, stream=True)

    suggestion = await suggest(agent)

    assert suggestion == Suggestion.model_validate(GOOD)
    assert stub.calls == 0
    assert agent.last_error is None
    assert server.received[0].body["stream"] is True
    assert server.received[0].body["response_format"]["type"] == "json_schema"


async def test_500_every_time_falls_back(server: FakeOpenAI, make_agent: AgentFactory) -> None:
    server.handler = replies(Reply(status=500, error="internal trouble"))
    stub = StubAgent()
    health = Health()
    agent = make_agent(fallback=stub, attempts=3, on_health=health)

    suggestion = await suggest(agent)

    assert suggestion == FALLBACK
    assert stub.calls == 1
    assert server.count == 3
    assert agent.last_error is not None
    assert "500" in agent.last_error
    assert "3 tries" in agent.last_error
    assert not agent.healthy
    assert health.changes == [(False, agent.last_error)]

    # Health changes are reported once, and again when the model recovers.
    await suggest(agent)
    assert health.changes == [(False, agent.last_error)]
    server.handler = replies(Reply(content=json.dumps(GOOD)))
    assert await suggest(agent) == Suggestion.model_validate(GOOD)
    assert agent.last_error is None
    assert agent.healthy
    assert health.changes[-1] == (True, None)
    assert len(health.changes) == 2


async def test_500_then_success_retries(server: FakeOpenAI, make_agent: AgentFactory) -> None:
    server.handler = replies(Reply(status=500), Reply(content=json.dumps(GOOD)))
    stub = StubAgent()
    health = Health()
    agent = make_agent(fallback=stub, on_health=health)

    suggestion = await suggest(agent)

    assert suggestion == Suggestion.model_validate(GOOD)
    assert server.count == 2
    assert stub.calls == 0
    assert agent.last_error is None
    assert health.changes == []


async def test_429_is_retried(server: FakeOpenAI, make_agent: AgentFactory) -> None:
    server.handler = replies(
        Reply(status=429, error="Rate limit reached", headers={"Retry-After": "0"}),
        Reply(status=429, error="Rate limit reached"),
        Reply(content=json.dumps(GOOD)),
    )
    stub = StubAgent()
    agent = make_agent(fallback=stub, attempts=3)

    assert await suggest(agent) == Suggestion.model_validate(GOOD)
    assert server.count == 3
    assert stub.calls == 0


async def test_429_every_time_reports_it(server: FakeOpenAI, make_agent: AgentFactory) -> None:
    server.handler = replies(Reply(status=429, error="Rate limit reached"))
    agent = make_agent(attempts=2)

    assert await suggest(agent) == FALLBACK
    assert server.count == 2
    assert agent.last_error == "model answered 429 after 2 tries"


async def test_retries_are_the_openai_clients(server: FakeOpenAI, make_agent: AgentFactory) -> None:
    """``attempts`` tries are one request and ``attempts - 1`` retries of it by the openai client,
    which numbers them; ``attempts`` may be changed at any time."""
    server.handler = replies(Reply(status=503))
    agent = make_agent(attempts=3)

    assert await suggest(agent) == FALLBACK
    assert [r.headers["x-stainless-retry-count"] for r in server.received] == ["0", "1", "2"]
    assert agent.last_error == "model answered 503 after 3 tries"

    server.received.clear()
    agent.attempts = 1
    assert await suggest(agent) == FALLBACK
    assert server.count == 1
    assert agent.last_error == "model answered 503 after 1 try"
    with pytest.raises(ValueError):
        agent.attempts = 0
    with pytest.raises(ValueError):
        make_agent(attempts=0)


async def test_the_tries_reported_are_those_made(
    server: FakeOpenAI, make_agent: AgentFactory
) -> None:
    """An endpoint that says not to retry is tried once, and the error says so."""
    server.handler = replies(Reply(status=500, headers={"x-should-retry": "false"}))
    agent = make_agent(attempts=3)

    assert await suggest(agent) == FALLBACK
    assert server.count == 1
    assert agent.last_error == "model answered 500 after 1 try"


async def test_client_error_is_not_retried(server: FakeOpenAI, make_agent: AgentFactory) -> None:
    server.handler = replies(Reply(status=404, error="The model does not exist"))
    agent = make_agent(attempts=3)

    assert await suggest(agent) == FALLBACK
    assert server.count == 1
    assert agent.last_error is not None
    assert agent.last_error.startswith("model answered 404")
    assert "does not exist" in agent.last_error


async def warm_up(agent: OpenAIAgent, server: FakeOpenAI) -> None:
    """One good answer first, so that the client's first-use costs don't eat the time-out."""
    handler = server.handler
    server.handler = replies(Reply(content=json.dumps(GOOD)))
    assert await suggest(agent) == Suggestion.model_validate(GOOD)
    server.handler = handler
    server.received.clear()


async def test_hang_times_out_and_falls_back(server: FakeOpenAI, make_agent: AgentFactory) -> None:
    server.handler = replies(Reply(hang=True))
    stub = StubAgent()
    health = Health()
    agent = make_agent(fallback=stub, attempts=2, on_health=health)
    await warm_up(agent, server)
    agent.timeout = 0.5

    suggestion = await suggest(agent)

    assert suggestion == FALLBACK
    assert stub.calls == 1
    assert 1 <= server.count <= 2  # the retry normally reaches the server, on a slow VM maybe not
    assert "(2 tries)" in (agent.last_error or "")
    assert agent.last_error is not None
    assert "timed out" in agent.last_error
    assert "0.5 s" in agent.last_error
    assert health.changes == [(False, agent.last_error)]


async def test_hang_while_streaming_times_out(server: FakeOpenAI, make_agent: AgentFactory) -> None:
    server.handler = replies(Reply(hang=True))
    agent = make_agent(attempts=1, stream=True)
    await warm_up(agent, server)
    agent.timeout = 0.5

    assert await suggest(agent) == FALLBACK
    assert agent.last_error == "model timed out after 0.5 s (1 try)"


async def test_unreachable_endpoint(make_agent: AgentFactory) -> None:
    with socket.socket() as probe:  # a free port that nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    agent = make_agent(base_url=f"http://127.0.0.1:{port}/v1", attempts=2)

    assert await suggest(agent) == FALLBACK
    assert agent.last_error == f"could not reach the model at http://127.0.0.1:{port}/v1 (2 tries)"


async def test_invalid_json_falls_back(server: FakeOpenAI, make_agent: AgentFactory) -> None:
    server.handler = replies(Reply(content="I think it is a cardiac arrest, priority one."))
    stub = StubAgent()
    agent = make_agent(fallback=stub)

    assert await suggest(agent) == FALLBACK
    assert stub.calls == 1
    assert server.count == 1
    assert agent.last_error is not None
    assert agent.last_error.startswith("model returned text that is not JSON")


async def test_json_that_does_not_fit_the_schema(
    server: FakeOpenAI, make_agent: AgentFactory
) -> None:
    server.handler = replies(Reply(content=json.dumps({**GOOD, "priority": 9})))
    stub = StubAgent()
    health = Health()
    agent = make_agent(fallback=stub, on_health=health)

    assert await suggest(agent) == FALLBACK
    assert stub.calls == 1
    assert agent.last_error is not None
    assert agent.last_error.startswith("model returned JSON that does not fit the schema")
    assert "priority" in agent.last_error
    assert health.changes == [(False, agent.last_error)]


async def test_json_array_does_not_fit_the_schema(
    server: FakeOpenAI, make_agent: AgentFactory
) -> None:
    server.handler = replies(Reply(content="[1, 2, 3]"))
    agent = make_agent()

    assert await suggest(agent) == FALLBACK
    assert agent.last_error is not None
    assert "does not fit the schema" in agent.last_error


async def test_unknown_incident_type_becomes_unknown(
    server: FakeOpenAI, make_agent: AgentFactory
) -> None:
    server.handler = replies(Reply(content=json.dumps({**GOOD, "incident_type": "alien_invasion"})))
    agent = make_agent()

    suggestion = await suggest(agent)

    assert suggestion.incident_type == "unknown"
    assert suggestion.priority == 1
    assert agent.last_error is None


async def test_endpoint_without_json_schema_gets_plain_json(
    server: FakeOpenAI, make_agent: AgentFactory
) -> None:
    server.handler = rejects_json_schema
    stub = StubAgent()
    health = Health()
    agent = make_agent(fallback=stub, on_health=health)

    suggestion = await suggest(agent)

    assert suggestion == Suggestion.model_validate(GOOD)
    assert stub.calls == 0
    assert agent.last_error is None
    assert health.changes == []
    assert not agent.json_schema_supported
    assert server.count == 2
    first, second = server.received
    assert first.body["response_format"]["type"] == "json_schema"
    assert "response_format" not in second.body
    assert "single JSON object" in second.body["messages"][0]["content"]

    # The endpoint's answer is remembered: no json_schema request any more.
    assert await suggest(agent) == Suggestion.model_validate(GOOD)
    assert server.count == 3
    assert "response_format" not in server.received[2].body


async def test_endpoint_without_json_schema_streamed(
    server: FakeOpenAI, make_agent: AgentFactory
) -> None:
    server.handler = rejects_json_schema
    agent = make_agent(stream=True)

    assert await suggest(agent) == Suggestion.model_validate(GOOD)
    assert server.count == 2
    assert server.received[1].body["stream"] is True


async def test_api_key_never_in_errors_or_logs(
    server: FakeOpenAI, make_agent: AgentFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    health = Health()
    agent = make_agent(attempts=2, on_health=health)
    details: list[str] = []
    scenarios = [
        Reply(status=401, error=f"Incorrect API key provided: {API_KEY}"),
        Reply(status=500, error=f"upstream rejected key {API_KEY}"),
        Reply(status=403, error=f"Bearer {API_KEY} is not allowed"),
        Reply(content=f"not json {API_KEY}"),
        Reply(content=json.dumps({**GOOD, "priority": API_KEY})),
    ]
    for reply in scenarios:
        server.handler = replies(reply)
        assert await suggest(agent) == FALLBACK
        assert agent.last_error is not None
        details.append(agent.last_error)

    assert server.received[0].headers["authorization"] == f"Bearer {API_KEY}"
    for detail in details:
        assert API_KEY not in detail
        assert "SECRET" not in detail
    for _ok, change in health.changes:
        assert change is None or API_KEY not in change
    assert "model answered 401" in details[0]
    assert "model answered 500" in details[1]
    assert caplog.records, "the failures were logged"
    assert API_KEY not in caplog.text
    for record in caplog.records:
        assert API_KEY not in record.getMessage()


async def test_placeholder_key_when_none_is_set(
    server: FakeOpenAI, make_agent: AgentFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("DISPATCH_MODEL", "model-from-env")
    agent = make_agent(api_key=None, base_url=None, model=None)

    assert await suggest(agent) == Suggestion.model_validate(GOOD)
    request = server.received[0]
    assert request.headers["authorization"] == f"Bearer {PLACEHOLDER_API_KEY}"
    assert request.body["model"] == "model-from-env"


async def test_nothing_said_yet_uses_the_fallback(
    server: FakeOpenAI, make_agent: AgentFactory
) -> None:
    stub = StubAgent()
    agent = make_agent(fallback=stub)

    assert await suggest(agent, [Segment(None, "  ")]) == FALLBACK
    assert server.count == 0
    assert agent.last_error is None


def test_extract_json_object() -> None:
    assert extract_json_object('{"a": 1}') == {"a": 1}
    assert extract_json_object('```json\n{"a": 1}\n```') == {"a": 1}
    assert extract_json_object('Answer:\n```\n{"a": {"b": 2}}\n```\nDone.') == {"a": {"b": 2}}
    assert extract_json_object('Here: {"a": "}"} and {"b": 2}') == {"a": "}"}
    assert extract_json_object('{not json} then {"a": 1}') == {"a": 1}
    with pytest.raises(ValueError):
        extract_json_object("no json here")


def test_the_prompt_and_schema_carry_the_patient_state_from_the_rules_agents_tables() -> None:
    """One incident table and one patient-state model feed both agents."""
    from typing import get_args

    from dispatch_tui.protocol import BreathingState
    from dispatch_tui.server.agents.incident_table import INCIDENT_TYPES
    from dispatch_tui.server.agents.openai_agent import SYSTEM_PROMPT
    from dispatch_tui.server.agents.patient import STATE_RULES, Breathing

    assert STATE_RULES in SYSTEM_PROMPT
    for incident in INCIDENT_TYPES:
        assert f"{incident.name} | {incident.priority} | {incident.typical}" in SYSTEM_PROMPT
    assert {state.value for state in Breathing} | {"unknown"} == set(get_args(BreathingState))
    schema = suggestion_schema()
    patient = schema["$defs"]["PatientSummary"]
    assert "patient" in schema["required"]
    assert set(patient["properties"]["breathing"]["enum"]) == set(get_args(BreathingState))
    assert patient["additionalProperties"] is False
