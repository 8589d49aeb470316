"""What a relay counts for Prometheus (``GET /metrics``), with ``prometheus_client``.

Every relay has its own registry, so several relays in one process (tests)
do not share counts. Labels only ever take values from closed sets (event
names of the protocol, error codes, close reasons): never a token, a name,
a room or message text, which also keeps the number of series bounded.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

from dispatch_tui import protocol as p
from dispatch_tui.events import Status

CONTENT_TYPE = CONTENT_TYPE_LATEST
#: Why the relay closed a connection, as ``dispatch_closes_total{reason}`` says it.
CLOSE_REASONS = frozenset(
    {
        "slow_consumer",
        "rate_limit",
        "message_too_big",
        "binary",
        "auth",
        "revoked",
        "keepalive",
        "other",
    }
)
_EVENTS = frozenset(p.REQUEST_MODELS)
_ERROR_CODES = frozenset(str(code) for code in p.ErrorCode)


class RelayMetrics:
    """The relay's counters, gauges and histograms; see ``docs/deploy.md`` for alerts."""

    def __init__(self) -> None:
        registry = self.registry = CollectorRegistry()
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
        self.connections = Gauge(
            "dispatch_connections", "Open WebSocket connections", registry=registry
        )
        self.rooms = Gauge("dispatch_rooms", "Rooms with a member on this relay", registry=registry)
        self.received = Counter(
            "dispatch_messages_received",
            "Frames received from clients, by event (invalid: not a known request)",
            ["event"],
            registry=registry,
        )
        self.relayed = Counter(
            "dispatch_messages_relayed",
            "Messages this relay numbered and relayed, by event",
            ["event"],
            registry=registry,
        )
        self.deliveries = Counter(
            "dispatch_deliveries",
            "Frames of relayed messages queued for clients of this relay",
            registry=registry,
        )
        self.errors = Counter(
            "dispatch_errors", "error replies sent, by code", ["code"], registry=registry
        )
        self.closes = Counter(
            "dispatch_closes",
            "Connections the relay closed, by reason",
            ["reason"],
            registry=registry,
        )
        self.commit_seconds = Histogram(
            "dispatch_journal_commit_seconds",
            "Time to commit one batch to the journal",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
            registry=registry,
        )
        self.batch_size = Histogram(
            "dispatch_journal_batch_size",
            "Messages committed together (group commit)",
            buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1024),
            registry=registry,
        )
        self.history_reads = Counter(
            "dispatch_history_reads", "history requests answered", registry=registry
        )
        self.agent_runs = Counter(
            "dispatch_agent_runs", "Times the agent read a call", registry=registry
        )
        self.agent_failures = Counter(
            "dispatch_agent_failures", "Agent runs that failed", registry=registry
        )
        self.agent_seconds = Histogram(
            "dispatch_agent_seconds",
            "Time the agent took to advise on a call",
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=registry,
        )
        self.source_connected = Gauge(
            "dispatch_source_connected",
            "1 while the transcription source is connected",
            registry=registry,
        )
        self.redis_connected = Gauge(
            "dispatch_redis_connected",
            "1 while the shared Redis is reachable (0 without --redis)",
            registry=registry,
        )

    def request(self, event: str | None) -> None:
        self.received.labels(event if event in _EVENTS else "invalid").inc()

    def error(self, code: str) -> None:
        self.errors.labels(code if code in _ERROR_CODES else "other").inc()

    def closed(self, reason: str) -> None:
        self.closes.labels(reason if reason in CLOSE_REASONS else "other").inc()

    def status(self, status: Status) -> None:
        """Follow the relay's ``status``: source and Redis up or down."""
        self.source_connected.set(1 if status.source == "connected" else 0)
        self.redis_connected.set(1 if status.redis == "connected" else 0)

    def render(self) -> bytes:
        return bytes(generate_latest(self.registry))
