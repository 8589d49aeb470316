"""The upstream source: one WebSocket to a transcription source, kept open while the relay runs.

:class:`UpstreamSource` reconnects with jittered exponential backoff (see
:mod:`dispatch_tui.backoff`), detects dead peers with keepalive pings, and
reports its state; bad frames and failing callbacks are logged and counted,
never fatal. Each connection reads its frames with a fresh adapter of the
configured format.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Final
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidURI
from websockets.uri import parse_uri

from dispatch_tui import backoff
from dispatch_tui.server.broker import BrokerUnavailable
from dispatch_tui.server.sources.base import (
    DEFAULT_CALL_ID,
    ProviderError,
    SourceAdapter,
    SourceFormatError,
)
from dispatch_tui.server.sources.registry import make_adapter
from dispatch_tui.server.tasks import start_task
from dispatch_tui.untrusted import strip_controls
from dispatch_tui.vocabulary import TranscriptSegment

if TYPE_CHECKING:
    from dispatch_tui.server.relay import Relay

logger = logging.getLogger(__name__)

#: Larger frames are refused by the WebSocket layer (close 1009) before they are parsed.
MAX_FRAME_BYTES: Final = 1 << 20

SegmentCallback = Callable[[TranscriptSegment], Awaitable[None]]
StateCallback = Callable[[str, str | None], None]


def redact_url(url: str) -> str:
    """``url`` without credentials or query (API keys often travel there), for logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _preview(frame: str | bytes, limit: int = 60) -> str:
    if isinstance(frame, bytes):
        return f"<{len(frame)} bytes>"
    text = strip_controls(frame[:limit]).replace("\n", " ")
    return repr(text + ("..." if len(frame) > limit else ""))


def _describe_close(exc: ConnectionClosed, max_size: int) -> str:
    if exc.sent is not None and exc.sent.code == 1009:
        return f"a frame was over the {max_size} byte limit (1009)"
    if exc.rcvd is not None:
        reason = f" {strip_controls(exc.rcvd.reason)[:80]}" if exc.rcvd.reason else ""
        return f"source closed the connection ({exc.rcvd.code}{reason})"
    if exc.sent is not None:
        return f"connection closed ({exc.sent.code} {exc.sent.reason})".strip()
    return "connection lost"


def _describe_error(exc: Exception, max_size: int) -> str:
    if isinstance(exc, ConnectionClosed):
        return _describe_close(exc, max_size)
    if isinstance(exc, InvalidStatus):
        return f"source refused the connection (HTTP {exc.response.status_code})"
    if isinstance(exc, TimeoutError):
        return "timed out connecting"
    if isinstance(exc, OSError):
        return f"cannot connect ({exc.strerror or type(exc).__name__})"
    return f"{type(exc).__name__}: {strip_controls(str(exc))[:120]}"


class UpstreamSource:
    """Keeps one WebSocket to a transcription source open and feeds its segments on.

    Reports ``("connected", detail)``, ``("reconnecting", why)`` and, after
    :meth:`stop`, ``("off", None)`` through ``on_state``. Nothing the source
    sends and nothing ``on_segment`` raises ends the loop; only :meth:`stop`
    (or cancelling :meth:`run`) does.
    """

    #: A connection that lasted this long (or carried a transcript) resets the backoff.
    stable_after: ClassVar[float] = 10.0

    def __init__(
        self,
        url: str,
        fmt: str,
        on_segment: SegmentCallback,
        on_state: StateCallback,
        *,
        call_id_default: str = DEFAULT_CALL_ID,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        max_size: int = MAX_FRAME_BYTES,
        ping_interval: float | None = 20.0,
        ping_timeout: float | None = 20.0,
        open_timeout: float = 10.0,
        headers: Mapping[str, str] | None = None,
        report_interval: float = 1.0,
    ) -> None:
        try:
            parse_uri(url)
        except InvalidURI as exc:
            raise ValueError(f"not a WebSocket URL: {redact_url(url)!r}") from exc
        make_adapter(fmt)  # fail now, not at the first connection
        self.url = url
        self.fmt = fmt
        self.on_segment = on_segment
        self.on_state = on_state
        self.call_id_default = call_id_default
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.max_size = max_size
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.open_timeout = open_timeout
        self.headers = dict(headers or {})
        self.report_interval = report_interval
        self.state = "off"
        self.detail: str | None = None
        #: Frames ignored on the current connection, and why the last one was.
        self.rejected = 0
        self.last_rejection: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._last_report = -math.inf
        self._report_timer: asyncio.TimerHandle | None = None
        self._delivered = False

    # -- lifecycle

    def start(self) -> asyncio.Task[None]:
        """Run in the background until :meth:`stop`."""
        if self._task is None or self._task.done():
            self._task = start_task(self.run(), f"source {redact_url(self.url)}")
        return self._task

    async def stop(self) -> None:
        """Close the connection and stop reconnecting."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._set_state("off", None)

    async def run(self) -> None:
        """Connect, read, reconnect, until cancelled."""
        loop = asyncio.get_running_loop()
        waits = backoff.delays(self.backoff_initial, self.backoff_max)
        self._set_state("reconnecting", f"connecting to {redact_url(self.url)}")
        try:
            while True:
                opened_at = loop.time()
                self._delivered = False
                try:
                    reason = await self._connection()
                except Exception as exc:
                    reason = _describe_error(exc, self.max_size)
                    if not isinstance(
                        exc, OSError | TimeoutError | ConnectionClosed | InvalidStatus
                    ):
                        logger.exception("source %s failed", redact_url(self.url))
                if self._delivered or loop.time() - opened_at >= self.stable_after:
                    waits = backoff.delays(self.backoff_initial, self.backoff_max)
                delay = next(waits)
                logger.warning(
                    "source %s: %s; reconnecting in %.1fs", redact_url(self.url), reason, delay
                )
                self._set_state("reconnecting", f"{reason}; retrying in {delay:.1f}s")
                await asyncio.sleep(delay)
        finally:
            self._cancel_report()

    async def _connection(self) -> str:
        """One connection, read to its end; returns why it ended."""
        adapter = make_adapter(self.fmt, call_id=self.call_id_default)
        try:
            async with connect(
                self.url,
                max_size=self.max_size,
                ping_interval=self.ping_interval,
                ping_timeout=self.ping_timeout,
                open_timeout=self.open_timeout,
                close_timeout=2.0,
                additional_headers=self.headers or None,
            ) as ws:
                self.rejected, self.last_rejection = 0, None
                self._cancel_report()
                logger.info("source %s connected (%s)", redact_url(self.url), self.fmt)
                self._set_state("connected", None)
                try:
                    await self._read(ws, adapter)
                except asyncio.CancelledError:
                    await ws.close(1001, "relay stopping")  # not 1011, as leaving by error would
                    raise
                code = ws.close_code
                reason = f" {strip_controls(ws.close_reason or '')[:80]}".rstrip()
                return f"source closed the connection ({code}{reason})"
        finally:
            # Finals held back for ordering are still worth showing.
            for segment in adapter.flush():
                await self._deliver(segment)

    async def _read(self, ws: ClientConnection, adapter: SourceAdapter) -> None:
        async for frame in ws:
            if isinstance(frame, bytes):
                self._reject("binary frame", frame)
                continue
            try:
                segments = adapter.parse(frame)
            except ProviderError as exc:
                self._reject(f"provider error: {exc}", frame)
                continue
            except SourceFormatError as exc:
                self._reject(str(exc), frame)
                continue
            except Exception:
                logger.exception("source adapter %s failed on a frame", adapter.name)
                self._reject("adapter failure", frame)
                continue
            for segment in segments:
                await self._deliver(segment)

    async def _deliver(self, segment: TranscriptSegment) -> None:
        try:
            await self.on_segment(segment)
        except Exception:
            logger.exception("source segment handler failed (call %s)", segment.call_id)
        else:
            self._delivered = True

    # -- reporting

    def _set_state(self, state: str, detail: str | None) -> None:
        if (state, detail) == (self.state, self.detail):
            return
        self.state, self.detail = state, detail
        try:
            self.on_state(state, detail)
        except Exception:
            logger.exception("source state handler failed")

    def _reject(self, reason: str, frame: str | bytes) -> None:
        """Count an ignored frame; log and report it, at most once per ``report_interval``."""
        self.rejected += 1
        self.last_rejection = f"{reason[:120]}: {_preview(frame)}"
        now = asyncio.get_running_loop().time()
        if now - self._last_report >= self.report_interval:
            self._report_rejections()
        else:
            logger.debug("source %s ignored a frame: %s", redact_url(self.url), self.last_rejection)
            if self._report_timer is None:
                delay = self.report_interval - (now - self._last_report)
                self._report_timer = asyncio.get_running_loop().call_later(
                    delay, self._report_rejections
                )

    def _report_rejections(self) -> None:
        self._report_timer = None
        self._last_report = asyncio.get_running_loop().time()
        if self.state != "connected" or not self.rejected:
            return
        plural = "" if self.rejected == 1 else "s"
        detail = f"ignored {self.rejected} unrecognised frame{plural}; last: {self.last_rejection}"
        logger.warning("source %s: %s", redact_url(self.url), detail)
        self._set_state("connected", detail)

    def _cancel_report(self) -> None:
        if self._report_timer is not None:
            self._report_timer.cancel()
            self._report_timer = None


async def connect_source(relay: Relay, url: str, fmt: str = "auto", **options: Any) -> None:
    """Feed ``relay``'s pipeline from ``url`` until cancelled (``dispatch serve --source``).

    The source's state goes to every client as ``status`` ``source`` / ``detail``.
    """
    pipeline = relay.pipeline
    if pipeline is None:
        raise RuntimeError("relay is not started")
    hub = relay.hub

    async def feed(segment: TranscriptSegment) -> None:
        try:
            await pipeline.feed(segment)
        except BrokerUnavailable as exc:
            logger.warning("transcript of call %s dropped: %s", segment.call_id, exc)

    def report(state: str, detail: str | None) -> None:
        hub.set_status(source=state, detail=detail)

    source = UpstreamSource(url, fmt, feed, report, **options)
    try:
        await source.run()
    finally:
        report("off", None)
