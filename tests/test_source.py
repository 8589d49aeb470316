"""Upstream transcription sources: every adapter on recorded provider frames, then the
reconnecting connection against a real local WebSocket source."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command
from websockets.asyncio.server import Server, ServerConnection, serve

from dispatch_tui import backoff
from dispatch_tui.cli.command import app
from dispatch_tui.server.calls import CallBuffer
from dispatch_tui.server.relay import Relay
from dispatch_tui.server.sources.auto import AutoAdapter
from dispatch_tui.server.sources.base import ProviderError, SourceAdapter, SourceFormatError
from dispatch_tui.server.sources.openai import OpenAIAdapter
from dispatch_tui.server.sources.registry import ADAPTERS, SOURCE_FORMATS, make_adapter
from dispatch_tui.server.sources.upstream import UpstreamSource, connect_source, redact_url
from dispatch_tui.vocabulary import TranscriptSegment
from tests.conftest import client, recv_event

SAMPLES = Path(__file__).parent / "data" / "source_samples"
PROVIDER_FORMATS = ("native", "text", "deepgram", "assemblyai", "openai")
TIMEOUT = 10.0


def sample_frames(fmt: str) -> list[str]:
    """The recorded frames of ``fmt`` as the wire carries them."""
    frames = json.loads((SAMPLES / f"{fmt}.json").read_text())
    return [frame if isinstance(frame, str) else json.dumps(frame) for frame in frames]


def run(adapter: SourceAdapter, frames: list[str], flush: bool = True) -> list[TranscriptSegment]:
    segments = [segment for frame in frames for segment in adapter.parse(frame)]
    return segments + adapter.flush() if flush else segments


def parse_sample(fmt: str, flush: bool = True) -> list[TranscriptSegment]:
    return run(make_adapter(fmt, session="t"), sample_frames(fmt), flush)


def buffered(segments: list[TranscriptSegment]) -> list[tuple[str | None, str]]:
    """What the pipeline's buffer makes of the segments: (speaker, text) per utterance."""
    buffer = CallBuffer(segments[0].call_id)
    for segment in segments:
        buffer.add(segment)
    assert not buffer.interim, "every interim fragment was replaced by its final"
    return [(u.speaker, u.text) for u in buffer.utterances]


def finals(segments: list[TranscriptSegment]) -> list[TranscriptSegment]:
    return [s for s in segments if s.is_final]


def digest(segments: list[TranscriptSegment]) -> list[tuple[str, bool, str | None, bool]]:
    """Segments without their per-connection ids."""
    return [(s.text, s.is_final, s.speaker, s.utterance_end) for s in segments]


# --- adapters on the samples -----------------------------------------------------------


def test_native_publish_transcript_bare_data_and_relay_transcript() -> None:
    segments = parse_sample("native")
    assert [s.call_id for s in segments] == ["call-17"] * 4
    assert [s.provider for s in segments] == ["native"] * 4
    interim, final = segments[0], segments[1]
    assert (interim.is_final, final.is_final) == (False, True)
    assert interim.segment_id == final.segment_id == "s1"
    assert buffered(segments) == [
        ("dispatcher", "Nine-one-one, what is the address of your emergency?"),
        ("caller", "there's smoke coming out of the building next door"),
        ("caller", "It's 300 Pine Avenue."),
    ]


def test_native_defaults_and_refusals() -> None:
    adapter = make_adapter("native", call_id="fallback")
    (segment,) = adapter.parse('{"text": "hello"}')
    assert (segment.call_id, segment.is_final, segment.speaker) == ("fallback", True, None)
    assert adapter.parse('{"event": "welcome", "data": {"client_id": "x"}}') == []
    with pytest.raises(ProviderError, match="nope"):
        adapter.parse('{"event": "error", "data": {"code": "forbidden", "message": "nope"}}')
    with pytest.raises(SourceFormatError, match="data"):
        adapter.parse('{"event": "publish_transcript"}')
    with pytest.raises(SourceFormatError, match="unexpected event"):
        adapter.parse('{"event": "send_to_all", "data": {"message": 1}}')


def test_text_lines_are_finals_for_the_default_call() -> None:
    segments = run(make_adapter("text", call_id="line-1"), sample_frames("text"))
    assert [s.text for s in segments] == [
        "Nine-one-one, what is the address of your emergency?",
        "My mother fell down the stairs and she's not answering me",
        "We're at 18 Birch Lane",
        "She's bleeding from her head",
    ]
    assert all(s.is_final and s.speaker is None and s.call_id == "line-1" for s in segments)
    assert len({s.segment_id for s in segments}) == 4
    assert make_adapter("text").parse("\x00\x1b \t\n") == []


def test_deepgram_interims_are_replaced_by_their_final() -> None:
    segments = parse_sample("deepgram")
    first = [s for s in segments if s.start_ms == 0]
    assert [s.is_final for s in first] == [False, False, True]
    assert len({s.segment_id for s in first}) == 1
    assert first[-1].text == "My husband collapsed, he's not breathing."
    assert buffered(segments) == [
        ("speaker 0", "My husband collapsed, he's not breathing."),
        ("speaker 0", "We're at 42 Oak Street."),
        ("speaker 1", "Okay, is he breathing at all?"),
        ("speaker 0", "No, not at all."),
    ]


def test_deepgram_utterance_ends_once_per_utterance() -> None:
    segments = parse_sample("deepgram")
    ends = [s for s in segments if s.utterance_end]
    # speech_final on the first utterance (its UtteranceEnd is redundant), an
    # UtteranceEnd marker for the second, speech_final on the diarized third; the
    # empty speech_final after it ends nothing new.
    assert [(s.text, s.is_final) for s in ends] == [
        ("My husband collapsed, he's not breathing.", True),
        ("", True),
        ("No, not at all.", True),
    ]
    assert ends[1].end_ms == 4400


def test_deepgram_seconds_become_milliseconds_and_speakers_split() -> None:
    segments = finals(parse_sample("deepgram"))
    assert [(s.start_ms, s.end_ms) for s in segments if s.text] == [
        (0, 2560),
        (2560, 4560),
        (4640, 6240),
        (6560, 7520),
    ]
    question, answer = segments[-2:]
    assert question.segment_id is not None and answer.segment_id is not None
    assert answer.segment_id.startswith(question.segment_id)
    assert all(s.channel == 0 and s.provider == "deepgram" for s in segments)


def test_deepgram_multichannel_without_diarization_names_the_channel() -> None:
    frame = {
        "type": "Results",
        "channel_index": [1, 2],
        "start": 1.5,
        "duration": 1.0,
        "is_final": True,
        "speech_final": False,
        "channel": {"alternatives": [{"transcript": "stay on the line", "confidence": 0.9}]},
    }
    (segment,) = make_adapter("deepgram").parse(json.dumps(frame))
    assert (segment.channel, segment.speaker, segment.start_ms) == (1, "channel 1", 1500)
    assert make_adapter("deepgram").parse('{"type": "Metadata", "request_id": "r"}') == []
    with pytest.raises(ProviderError, match="bad key"):
        make_adapter("deepgram").parse('{"type": "Error", "description": "bad key"}')


def test_assemblyai_formatted_turn_replaces_the_unformatted_one() -> None:
    segments = parse_sample("assemblyai")
    by_turn: dict[str | None, list[TranscriptSegment]] = {}
    for segment in finals(segments):
        by_turn.setdefault(segment.segment_id, []).append(segment)
    assert all(len(turn) == 1 for turn in by_turn.values()), "each turn is final once"
    assert [s.text for s in finals(segments)] == [
        "there's a fire in my kitchen",  # formatting was not known to be on yet
        "The address is 12 Elm Road.",
        "is anyone still inside",  # released by Termination
    ]
    assert all(s.utterance_end for s in finals(segments))
    assert buffered(segments) == [
        ("speaker A", "there's a fire in my kitchen"),
        ("speaker A", "The address is 12 Elm Road."),
        ("speaker B", "is anyone still inside"),
    ]


def test_assemblyai_interims_times_and_speakers() -> None:
    segments = parse_sample("assemblyai")
    assert [s.text for s in segments if not s.is_final][:2] == ["there's", "there's a fire in"]
    assert (segments[0].start_ms, segments[0].end_ms) == (640, 880)
    turn_one = [s for s in segments if s.segment_id == "aai-t-1"]
    assert turn_one[-1].is_final and (turn_one[-1].start_ms, turn_one[-1].end_ms) == (3200, 4800)
    assert {s.speaker for s in segments} == {"speaker A", "speaker B"}


def test_assemblyai_held_turn_is_released_by_the_next_turn() -> None:
    adapter = make_adapter("assemblyai", session="t")

    def turn(order: int, text: str, *, end: bool, formatted: bool = False) -> str:
        return json.dumps(
            {
                "type": "Turn",
                "turn_order": order,
                "end_of_turn": end,
                "turn_is_formatted": formatted,
                "transcript": text,
                "words": [],
            }
        )

    adapter.parse(turn(0, "Hello.", end=True, formatted=True))  # formatting is on
    (preview,) = adapter.parse(turn(1, "help me", end=True))
    assert not preview.is_final
    released, partial = adapter.parse(turn(2, "now", end=False))
    assert (released.text, released.is_final, released.segment_id) == ("help me", True, "aai-t-1")
    assert not partial.is_final
    assert adapter.parse(turn(1, "Help me.", end=True, formatted=True)) == []
    assert adapter.flush() == []


def test_assemblyai_without_formatting_every_end_of_turn_is_final() -> None:
    adapter = make_adapter("assemblyai")
    frame = {"type": "Turn", "turn_order": 0, "end_of_turn": True, "transcript": "fire"}
    frame["turn_is_formatted"] = False
    (segment,) = adapter.parse(json.dumps(frame))
    assert segment.is_final and segment.utterance_end
    with pytest.raises(ProviderError):
        adapter.parse('{"error": "Invalid API key"}')


def test_openai_out_of_order_completions_come_out_in_committed_order() -> None:
    segments = parse_sample("openai")
    assert [s.text for s in finals(segments)] == [
        "Someone broke into my house.",
        "He has a knife.",
        "Please hurry.",
    ]
    assert all(s.utterance_end for s in finals(segments))
    interims = [s.text for s in segments if not s.is_final]
    assert interims == [
        "Someone",
        "Someone broke into",
        "He has a knife",
        "Someone broke into my house",
    ]
    first = finals(segments)[0]
    assert (first.start_ms, first.end_ms, first.segment_id) == (480, 2620, "oai-item_B2uNcA1")
    assert buffered(segments) == [
        (None, "Someone broke into my house."),
        (None, "He has a knife."),
        (None, "Please hurry."),
    ]


def openai_event(kind: str, **fields: Any) -> str:
    prefix = "conversation.item.input_audio_transcription."
    return json.dumps({"type": prefix + kind if "." not in kind else kind, **fields})


def test_openai_never_waits_forever() -> None:
    adapter = OpenAIAdapter(session="t")
    # A completion for an item never committed is released at once.
    (alone,) = adapter.parse(openai_event("completed", item_id="stray", transcript="stray"))
    assert alone.text == "stray"
    # An item whose transcription never comes stops blocking once enough wait behind it.
    adapter.parse(openai_event("input_audio_buffer.committed", item_id="lost"))
    waiting = [f"item{n}" for n in range(adapter.max_waiting + 1)]
    previous = "lost"
    for item in waiting:
        adapter.parse(
            openai_event("input_audio_buffer.committed", item_id=item, previous_item_id=previous)
        )
        previous = item
    released: list[TranscriptSegment] = []
    for item in waiting:
        released += adapter.parse(openai_event("completed", item_id=item, transcript=item))
    assert [s.text for s in released] == waiting
    # A failed transcription releases the ones after it; the connection's end releases all.
    previous = None
    for item in "abcd":
        adapter.parse(
            openai_event("input_audio_buffer.committed", item_id=item, previous_item_id=previous)
        )
        previous = item
    assert adapter.parse(openai_event("completed", item_id="b", transcript="bee")) == []
    assert adapter.parse(openai_event("completed", item_id="d", transcript="dee")) == []
    (bee,) = adapter.parse(openai_event("failed", item_id="a", error={"message": "x"}))
    assert bee.text == "bee"
    assert [s.text for s in adapter.flush()] == ["dee"]  # c never came


def test_openai_error_event_and_ignored_events() -> None:
    adapter = make_adapter("openai")
    assert adapter.parse('{"type": "session.created", "session": {}}') == []
    error = {"type": "error", "error": {"type": "invalid_request_error", "message": "bad audio"}}
    with pytest.raises(ProviderError, match="bad audio"):
        adapter.parse(json.dumps(error))


@pytest.mark.parametrize("fmt", PROVIDER_FORMATS)
def test_auto_recognises_every_format(fmt: str) -> None:
    auto = AutoAdapter(session="t")
    assert run(auto, sample_frames(fmt)) == parse_sample(fmt)
    assert list(auto.adapters) == [fmt]


def test_auto_keeps_one_adapter_per_detected_format() -> None:
    auto = AutoAdapter(session="t")
    mixed = [*sample_frames("openai"), *sample_frames("deepgram"), "a plain line"]
    segments = run(auto, mixed)
    assert sorted(auto.adapters) == ["deepgram", "openai", "text"]
    assert [s.provider for s in finals(segments)][-1] == "text"
    expected = [*parse_sample("openai"), *parse_sample("deepgram")]
    assert digest(segments) == [*digest(expected), ("a plain line", True, None, False)]


GARBAGE = [
    "{not json",
    "[1, 2, 3]",
    "{}",
    '{"type": "Surprise"}',
    '{"type": "Results", "start": NaN, "channel": {"alternatives": []}}',
    '{"type": "Results", "start": "soon", "channel": {"alternatives": []}}',
    '{"type": "Turn", "transcript": "no order"}',
    '{"type": "conversation.item.input_audio_transcription.delta", "delta": "no item"}',
    json.dumps({"event": "publish_transcript", "data": {"call_id": "c" * 200, "text": "long"}}),
    json.dumps({"text": "x" * 10_001}),
    "[" * 100_000,
]


@pytest.mark.parametrize("frame", GARBAGE, ids=range(len(GARBAGE)))
@pytest.mark.parametrize("fmt", ["auto", "native", "deepgram", "assemblyai", "openai"])
def test_garbage_raises_source_format_error(fmt: str, frame: str) -> None:
    with pytest.raises(SourceFormatError):
        make_adapter(fmt).parse(frame)


def test_factory_and_helpers() -> None:
    assert set(SOURCE_FORMATS) == {"auto", *PROVIDER_FORMATS}
    with pytest.raises(ValueError, match="unknown source format"):
        make_adapter("whisper")
    for attempt, delay in enumerate(itertools.islice(backoff.delays(0.5, 30.0), 12)):
        assert min(30.0, 0.5 * 2**attempt) / 2 <= delay <= min(30.0, 0.5 * 2**attempt)
    capped = backoff.delays(0.5, 30.0, rand=lambda: 1.0)
    assert list(itertools.islice(capped, 1000, 1001)) == [30.0]
    assert redact_url("wss://user:pw@api.example.com:8443/v1/listen?token=s3cret") == (
        "wss://api.example.com:8443/v1/listen"
    )


def test_the_formats_are_the_ones_the_adapters_declare() -> None:
    assert tuple(adapter.name for adapter in ADAPTERS) == SOURCE_FORMATS
    assert len(set(SOURCE_FORMATS)) == len(ADAPTERS), "two adapters declare one format"
    for fmt in SOURCE_FORMATS:
        assert make_adapter(fmt).name == fmt


def test_the_cli_and_its_docs_offer_every_format() -> None:
    serve = get_command(app).commands["serve"]  # type: ignore[attr-defined]
    option = next(param for param in serve.params if param.name == "source_format")
    assert option.help == "auto, native, deepgram, assemblyai, openai or text."
    assert all(fmt in option.help for fmt in SOURCE_FORMATS)
    refused = subprocess.run(
        [sys.executable, "-m", "dispatch_tui", "serve", "--source-format", "whisper"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    assert (
        refused.stderr == f"dispatch: --source-format must be one of {', '.join(SOURCE_FORMATS)}\n"
    )
    docs = (Path(__file__).resolve().parent.parent / "docs" / "cli.md").read_text()
    row = next(line for line in docs.splitlines() if line.startswith("| `--source-format`"))
    assert set(SOURCE_FORMATS) <= set(re.findall(r"`(\w+)`", row))


# --- through a real WebSocket ----------------------------------------------------------


class FakeSource:
    """A local transcription source: the test sends frames on each accepted connection."""

    def __init__(self) -> None:
        self.connections: asyncio.Queue[ServerConnection] = asyncio.Queue()
        self.server: Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await serve(self._handler, "127.0.0.1", self.port, close_timeout=1)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None

    async def _handler(self, ws: ServerConnection) -> None:
        await self.connections.put(ws)
        await ws.wait_closed()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/listen?token=secret"

    async def accept(self) -> ServerConnection:
        return await asyncio.wait_for(self.connections.get(), TIMEOUT)


class Collector:
    """Records what an UpstreamSource reports, and lets tests wait for it."""

    def __init__(self) -> None:
        self.segments: asyncio.Queue[TranscriptSegment] = asyncio.Queue()
        self.states: list[tuple[str, str | None]] = []
        self._state_queue: asyncio.Queue[tuple[str, str | None]] = asyncio.Queue()

    async def on_segment(self, segment: TranscriptSegment) -> None:
        await self.segments.put(segment)

    def on_state(self, state: str, detail: str | None) -> None:
        self.states.append((state, detail))
        self._state_queue.put_nowait((state, detail))

    async def take(self, count: int) -> list[TranscriptSegment]:
        async with asyncio.timeout(TIMEOUT):
            return [await self.segments.get() for _ in range(count)]

    async def state(
        self, state: str, matching: Callable[[str | None], bool] = lambda _: True
    ) -> str | None:
        """Waits for ``state`` (with a detail that matches); returns the detail."""
        async with asyncio.timeout(TIMEOUT):
            while True:
                seen, detail = await self._state_queue.get()
                if seen == state and matching(detail):
                    return detail


@pytest.fixture
async def fake_source() -> AsyncIterator[FakeSource]:
    source = FakeSource()
    await source.start()
    try:
        yield source
    finally:
        await source.stop()


@pytest.fixture
def collector() -> Collector:
    return Collector()


MakeSource = Callable[..., Awaitable[UpstreamSource]]


@pytest.fixture
async def make_source(fake_source: FakeSource, collector: Collector) -> AsyncIterator[MakeSource]:
    """Starts UpstreamSources on the fake source with quick retries; stops them after."""
    started: list[UpstreamSource] = []

    async def make(fmt: str = "auto", **options: Any) -> UpstreamSource:
        settings: dict[str, Any] = {
            "backoff_initial": 0.05,
            "backoff_max": 0.2,
            "report_interval": 0.0,
            **options,
        }
        on_segment = settings.pop("on_segment", collector.on_segment)
        source = UpstreamSource(fake_source.url, fmt, on_segment, collector.on_state, **settings)
        started.append(source)
        source.start()
        return source

    yield make
    for source in started:
        await source.stop()


@pytest.mark.parametrize("fmt", [*PROVIDER_FORMATS, "auto"])
async def test_each_format_flows_through_a_live_source(
    fmt: str, fake_source: FakeSource, collector: Collector, make_source: MakeSource
) -> None:
    sample = "deepgram" if fmt == "auto" else fmt
    expected = parse_sample(sample, flush=False)
    source = await make_source(fmt)
    try:
        server_side = await fake_source.accept()
        await collector.state("connected")
        for frame in sample_frames(sample):
            await server_side.send(frame)
        received = await collector.take(len(expected))
        assert digest(received) == digest(expected)
        assert {s.provider for s in received} == {sample}
        assert source.rejected == 0
    finally:
        await source.stop()
    assert collector.states[-1] == ("off", None)


async def test_reconnects_when_the_source_closes_the_connection(
    fake_source: FakeSource, collector: Collector, make_source: MakeSource
) -> None:
    source = await make_source("text")
    try:
        first = await fake_source.accept()
        await collector.state("connected")
        await first.send("before the drop")
        assert [s.text for s in await collector.take(1)] == ["before the drop"]
        await first.close(1011, "upstream hiccup")
        detail = await collector.state("reconnecting")
        assert detail is not None and "1011" in detail and "retrying" in detail
        second = await fake_source.accept()
        await collector.state("connected")
        await second.send("after the drop")
        assert [s.text for s in await collector.take(1)] == ["after the drop"]
    finally:
        await source.stop()


async def test_reconnects_when_the_source_restarts_on_the_same_port(
    fake_source: FakeSource, collector: Collector, make_source: MakeSource
) -> None:
    source = await make_source("deepgram")
    frames = sample_frames("deepgram")
    try:
        await fake_source.accept()
        await collector.state("connected")
        await fake_source.stop()
        await collector.state("reconnecting", lambda d: d is not None and "1001" in d)
        await collector.state("reconnecting", lambda d: d is not None and "cannot connect" in d)
        await fake_source.start()
        server_side = await fake_source.accept()
        await collector.state("connected")
        await server_side.send(frames[3])  # the first utterance's final
        (segment,) = await collector.take(1)
        assert segment.text == "My husband collapsed, he's not breathing."
        assert segment.utterance_end
    finally:
        await source.stop()
    states = [state for state, _ in collector.states]
    assert states[:2] == ["reconnecting", "connected"]
    assert states[-3:] == ["reconnecting", "connected", "off"]


async def test_garbage_frames_are_reported_and_not_fatal(
    fake_source: FakeSource,
    collector: Collector,
    make_source: MakeSource,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="dispatch_tui.server.sources")
    source = await make_source("deepgram", max_size=64 * 1024)
    valid = sample_frames("deepgram")[3]
    try:
        server_side = await fake_source.accept()
        await collector.state("connected")
        await server_side.send("this is not json")
        await server_side.send('{"type": "Surprise", "data": 1}')
        await server_side.send(b"\x00\x01 binary audio")
        await server_side.send(valid)
        assert len(await collector.take(1)) == 1
        detail = await collector.state("connected", lambda d: d is not None and "3 " in d)
        assert detail is not None and detail.startswith("ignored 3 unrecognised frames; last:")
        assert "binary frame" in detail
        assert "not JSON" in caplog.text and "secret" not in caplog.text

        # A frame over the size limit is refused by the WebSocket layer: the
        # connection drops with 1009, and the source connects again.
        await server_side.send(json.dumps({"type": "Results", "pad": "x" * 100_000}))
        detail = await collector.state("reconnecting")
        assert detail is not None and "1009" in detail
        server_side = await fake_source.accept()
        await collector.state("connected", lambda d: d is None)
        await server_side.send(valid)
        assert len(await collector.take(1)) == 1
        assert source.rejected == 0
    finally:
        await source.stop()


async def test_a_failing_segment_handler_does_not_stop_the_source(
    fake_source: FakeSource, collector: Collector, make_source: MakeSource
) -> None:
    calls = 0

    async def flaky(segment: TranscriptSegment) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("pipeline exploded")
        await collector.on_segment(segment)

    source = await make_source("text", on_segment=flaky)
    try:
        server_side = await fake_source.accept()
        await collector.state("connected")
        await server_side.send("first")
        await server_side.send("second")
        assert [s.text for s in await collector.take(1)] == ["second"]
        assert source.state == "connected"
    finally:
        await source.stop()


async def test_openai_completions_held_at_disconnect_are_still_delivered(
    fake_source: FakeSource, collector: Collector, make_source: MakeSource
) -> None:
    source = await make_source("openai")
    try:
        server_side = await fake_source.accept()
        await collector.state("connected")
        for item, previous in (("a", None), ("b", "a")):
            await server_side.send(
                openai_event(
                    "input_audio_buffer.committed", item_id=item, previous_item_id=previous
                )
            )
        await server_side.send(openai_event("completed", item_id="b", transcript="second"))
        await server_side.close()
        (segment,) = await collector.take(1)
        assert segment.text == "second"
    finally:
        await source.stop()


async def test_keepalive_detects_a_dead_peer_but_not_a_quiet_one(
    fake_source: FakeSource, collector: Collector, make_source: MakeSource
) -> None:
    source = await make_source("text", ping_interval=0.2, ping_timeout=1.0)
    try:
        server_side = await fake_source.accept()
        await collector.state("connected")
        # Quiet but alive: pings are answered, nothing changes.
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(collector.state("reconnecting"), 1.5)
        await server_side.send("still here")
        assert [s.text for s in await collector.take(1)] == ["still here"]
        # Dead: the peer stops reading, so pings go unanswered.
        server_side.transport.pause_reading()
        detail = await collector.state("reconnecting")
        assert detail is not None and "1011" in detail
        server_side.transport.abort()
        await fake_source.accept()
        await collector.state("connected")
    finally:
        await source.stop()


async def test_invalid_settings_fail_at_once(collector: Collector) -> None:
    with pytest.raises(ValueError, match="not a WebSocket URL"):
        UpstreamSource("http://example.com", "auto", collector.on_segment, collector.on_state)
    with pytest.raises(ValueError, match="unknown source format"):
        UpstreamSource("ws://example.com", "mp3", collector.on_segment, collector.on_state)


async def test_connect_source_feeds_the_relay_and_its_status(
    relay: Relay, fake_source: FakeSource
) -> None:
    async with client(relay.url) as ws:
        feed = connect_source(relay, fake_source.url, "text", backoff_initial=0.05)
        relay.spawn(feed, "source")
        server_side = await fake_source.accept()
        async with asyncio.timeout(TIMEOUT):
            while (await recv_event(ws, "status"))["data"]["source"] != "connected":
                pass
        await server_side.send("he's not breathing")
        transcript = (await recv_event(ws, "transcript"))["data"]
        assert (transcript["call_id"], transcript["text"]) == ("source", "he's not breathing")
        assert transcript["is_final"] and transcript["provider"] == "text"
        await server_side.close(1011, "gone")
        async with asyncio.timeout(TIMEOUT):
            while (status := (await recv_event(ws, "status"))["data"])["source"] != "reconnecting":
                pass
        assert "1011" in status["detail"]
