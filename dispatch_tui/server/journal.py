"""The journal: every relayed message on disk, in SQLite (WAL), with its ``seq``.

One writer thread owns the database connection. The event loop only enqueues:
writes are gathered into batches and committed together (group commit), so the
loop never waits on the disk per message, and each write's callback (the
``sent`` ack) runs on the loop once its batch is committed. Reads go through
the same queue, so ``history`` always sees every write enqueued before it.

A commit that fails leaves the journal failed: the writes of that batch are
told so (their senders get an ``error``), ``on_failure`` is told once (the
relay turns degraded), and later appends are refused until a restart.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dispatch_tui.server.metrics import RelayMetrics

logger = logging.getLogger(__name__)

MEMORY = ":memory:"
_BATCH_MAX = 1024
_PRUNE_EVERY_SECONDS = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY,
    room TEXT,
    event TEXT NOT NULL,
    created REAL NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_room_seq ON messages (room, seq);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS cluster (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class Entry:
    """One journaled message. ``room`` None is the global stream."""

    seq: int
    room: str | None
    event: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class Page:
    """A slice of a stream, oldest first, as ``history`` returns it."""

    payloads: list[bytes]
    has_more: bool


@dataclass(frozen=True, slots=True)
class Retention:
    """How much the journal keeps: at most ``max_messages``, none older than ``max_age``."""

    max_messages: int | None = 1_000_000
    max_age_seconds: float | None = None


@dataclass(slots=True)
class _Write:
    entry: Entry
    on_durable: Callable[[], None] | None
    #: Read from the shared log: it moves the log cursor on.
    from_log: bool = False
    #: False for a cursor move alone (the entry was stored already).
    store: bool = True
    #: Told why, when the commit of this write failed.
    on_failed: Callable[[str], None] | None = None


@dataclass(slots=True)
class _Remember:
    """A cluster fact (the Redis epoch) to keep beside the messages."""

    key: str
    value: str


@dataclass(slots=True)
class _Read:
    room: str | None
    since: int | None
    limit: int
    max_bytes: int
    done: Callable[[Page | BaseException], None]


@dataclass(slots=True)
class _Barrier:
    done: Callable[[Page | BaseException | None], None]


_STOP = object()
_RAISE_META = (
    "INSERT INTO meta VALUES (?, ?) "
    "ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)"
)


class JournalError(RuntimeError):
    """The journal could not be opened or written."""


class Journal:
    """Append-only message store with group commit; see the module docstring."""

    def __init__(
        self,
        path: str | Path,
        retention: Retention | None = None,
        metrics: RelayMetrics | None = None,
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        self.path = str(path)
        #: Told once, on the loop, when a commit first fails.
        self.on_failure = on_failure
        self.metrics = metrics
        self.retention = retention or Retention()
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_seq = 0
        self._log_cursor = 0
        self._cluster: dict[str, str] = {}
        self._ready = threading.Event()
        self._open_error: BaseException | None = None
        self._failed: BaseException | None = None

    @property
    def last_seq(self) -> int:
        """The highest ``seq`` ever written, including pruned ones."""
        return self._last_seq

    @property
    def log_cursor(self) -> int:
        """The ``seq`` of the last shared-log entry committed here (0: none yet)."""
        return self._log_cursor

    def remembered(self, key: str) -> str | None:
        """A cluster fact stored with :meth:`remember`, as it was at start."""
        return self._cluster.get(key)

    def remember(self, key: str, value: str) -> None:
        """Store a cluster fact in the same order as the messages around it."""
        self._cluster[key] = value
        self._queue.put(_Remember(key, value))

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Open the database and start the writer thread."""
        self._loop = loop
        if self.path != MEMORY:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._run, name="journal-writer", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._open_error is not None:
            raise JournalError(f"cannot open journal {self.path}: {self._open_error}")

    @property
    def failure(self) -> str | None:
        """Why the journal stopped taking writes; None while it works."""
        return None if self._failed is None else f"journal write failed: {self._failed}"

    def append(
        self,
        entry: Entry,
        on_durable: Callable[[], None] | None = None,
        *,
        from_log: bool = False,
        on_failed: Callable[[str], None] | None = None,
    ) -> None:
        """Queue one entry; ``on_durable`` runs on the loop after its commit.

        ``on_failed(reason)`` runs instead if that commit fails. An entry whose
        ``seq`` is stored already is not written again (the journal never
        replaces a message); ``from_log`` entries also move the shared-log
        cursor, so a restarted relay reads on from there.
        """
        if self.failure is not None:
            raise JournalError(self.failure)
        self._queue.put(_Write(entry, on_durable, from_log, on_failed=on_failed))

    def advance_cursor(self, seq: int) -> None:
        """The shared log was read up to ``seq``, whose entry is queued already."""
        self._queue.put(_Write(Entry(seq, None, "", b""), None, from_log=True, store=False))

    async def read(
        self, room: str | None, since: int | None, limit: int, max_bytes: int = 1 << 20
    ) -> Page:
        """Entries of one stream after ``since`` (or the newest ones), oldest first."""
        future: asyncio.Future[Page | BaseException] = self._require_loop().create_future()
        self._queue.put(_Read(room, since, limit, max_bytes, self._resolver(future)))
        result = await future
        if isinstance(result, BaseException):
            raise JournalError(f"journal read failed: {result}") from result
        return result

    async def flush(self) -> None:
        """Wait until everything queued so far is committed."""
        future: asyncio.Future[Page | BaseException | None] = self._require_loop().create_future()
        self._queue.put(_Barrier(self._resolver(future)))
        await future

    def close(self) -> None:
        """Commit what is queued and stop the writer thread (blocking)."""
        if self._thread is None:
            return
        self._queue.put(_STOP)
        self._thread.join()
        self._thread = None

    def _require_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise JournalError("journal is not started")
        return self._loop

    def _resolver(self, future: asyncio.Future[Any]) -> Callable[[Any], None]:
        loop = self._require_loop()

        def resolve(value: Any) -> None:
            def settle() -> None:
                if not future.done():
                    future.set_result(value)

            loop.call_soon_threadsafe(settle)

        return resolve

    def _run(self) -> None:
        try:
            db = self._connect()
        except (sqlite3.Error, OSError) as exc:
            self._open_error = exc
            self._ready.set()
            return
        self._ready.set()
        last_prune = time.monotonic()
        try:
            while True:
                item = self._queue.get()
                batch = [item]
                while len(batch) < _BATCH_MAX:
                    try:
                        batch.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                if not self._process(db, batch):
                    return
                if time.monotonic() - last_prune > _PRUNE_EVERY_SECONDS:
                    self._prune(db)
                    last_prune = time.monotonic()
        finally:
            db.close()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
        row = db.execute("SELECT max(seq) FROM messages").fetchone()
        meta = db.execute("SELECT value FROM meta WHERE key = 'last_seq'").fetchone()
        self._last_seq = max(row[0] or 0, meta[0] if meta else 0)
        cursor = db.execute("SELECT value FROM meta WHERE key = 'log_cursor'").fetchone()
        self._log_cursor = cursor[0] if cursor else 0
        self._cluster = dict(db.execute("SELECT key, value FROM cluster").fetchall())
        self._prune(db)
        return db

    def _process(self, db: sqlite3.Connection, batch: list[Any]) -> bool:
        """Commit runs of writes, serve reads in order; False once stopped."""
        writes: list[_Write] = []
        for item in batch:
            if isinstance(item, _Write):
                writes.append(item)
                continue
            self._commit(db, writes)
            writes = []
            if item is _STOP:
                return False
            if isinstance(item, _Read):
                try:
                    item.done(self._select(db, item))
                except sqlite3.Error as exc:
                    item.done(exc)
            elif isinstance(item, _Barrier):
                item.done(None)
            elif isinstance(item, _Remember):
                self._store_fact(db, item)
        self._commit(db, writes)
        return True

    def _commit(self, db: sqlite3.Connection, writes: list[_Write]) -> None:
        if not writes:
            return
        now = time.time()
        rows = [
            (w.entry.seq, w.entry.room, w.entry.event, now, w.entry.payload.decode())
            for w in writes
            if w.store
        ]
        high = max(w.entry.seq for w in writes)
        cursor = max((w.entry.seq for w in writes if w.from_log), default=0)
        started = time.perf_counter()
        try:
            db.execute("BEGIN")
            before = db.total_changes
            db.executemany("INSERT OR IGNORE INTO messages VALUES (?, ?, ?, ?, ?)", rows)
            if db.total_changes - before < len(rows):
                self._report_conflicts(db, rows)
            db.execute(_RAISE_META, ("last_seq", high))
            if cursor:
                db.execute(_RAISE_META, ("log_cursor", cursor))
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            logger.error("journal commit of %d messages failed: %s", len(rows), exc)
            first = self._failed is None
            self._failed = exc
            if db.in_transaction:
                db.execute("ROLLBACK")
            self._report_failure(writes, first)
            return
        if self.metrics is not None:
            self.metrics.commit_seconds.observe(time.perf_counter() - started)
            self.metrics.batch_size.observe(len(rows))
        self._last_seq = max(self._last_seq, high)
        self._log_cursor = max(self._log_cursor, cursor)
        callbacks = [w.on_durable for w in writes if w.on_durable is not None]
        if callbacks and self._loop is not None:
            self._loop.call_soon_threadsafe(_run_all, callbacks)

    def _report_failure(self, writes: list[_Write], first: bool) -> None:
        """Tell the failed batch's senders, and the relay the first time, on the loop."""
        reason = self.failure or "journal write failed"
        told = [w.on_failed for w in writes if w.on_failed is not None]
        if first and self.on_failure is not None:
            told.append(self.on_failure)
        if told and self._loop is not None:
            self._loop.call_soon_threadsafe(_tell_all, told, reason)

    @staticmethod
    def _report_conflicts(db: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
        """Log every ``seq`` that arrived again with other content (the stored one stays).

        The same message arriving twice (a relay's own message read back from
        the shared log) is expected and silent.
        """
        wanted = {row[0]: row[4] for row in rows}
        seqs = list(wanted)
        for start in range(0, len(seqs), 500):
            chunk = seqs[start : start + 500]
            marks = ",".join("?" * len(chunk))
            query = f"SELECT seq, payload FROM messages WHERE seq IN ({marks})"
            for seq, stored in db.execute(query, chunk):
                if stored != wanted[seq]:
                    logger.error("seq %d arrived again with other content; kept the first", seq)

    @staticmethod
    def _store_fact(db: sqlite3.Connection, fact: _Remember) -> None:
        try:
            db.execute(
                "INSERT INTO cluster VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (fact.key, fact.value),
            )
        except sqlite3.Error as exc:
            logger.error("journal could not store %s: %s", fact.key, exc)

    def _select(self, db: sqlite3.Connection, read: _Read) -> Page:
        """After ``since``: the oldest first; without it: the newest, kept in order.

        Either way the page stops at ``limit`` entries or ``max_bytes``, and
        ``has_more`` says that the stream holds more in that direction.
        """
        if read.since is not None:
            query = "SELECT payload FROM messages WHERE room IS ? AND seq > ? ORDER BY seq LIMIT ?"
            params: tuple[Any, ...] = (read.room, read.since, read.limit + 1)
        else:
            query = "SELECT payload FROM messages WHERE room IS ? ORDER BY seq DESC LIMIT ?"
            params = (read.room, read.limit + 1)
        rows = [row[0].encode() for row in db.execute(query, params)]
        has_more = len(rows) > read.limit
        payloads: list[bytes] = []
        size = 0
        for payload in rows[: read.limit]:
            size += len(payload)
            if payloads and size > read.max_bytes:
                has_more = True
                break
            payloads.append(payload)
        if read.since is None:
            payloads.reverse()
        return Page(payloads, has_more)

    def _prune(self, db: sqlite3.Connection) -> None:
        keep = self.retention.max_messages
        max_age = self.retention.max_age_seconds
        try:
            if keep is not None:
                # By rank, not by number: ``seq`` may jump (a cluster that lost Redis).
                db.execute(
                    "DELETE FROM messages WHERE seq < "
                    "(SELECT seq FROM messages ORDER BY seq DESC LIMIT 1 OFFSET ?)",
                    (max(keep - 1, 0),),
                )
            if max_age is not None:
                db.execute("DELETE FROM messages WHERE created < ?", (time.time() - max_age,))
        except sqlite3.Error as exc:
            logger.warning("journal pruning failed: %s", exc)


def _run_all(callbacks: list[Callable[[], None]]) -> None:
    for callback in callbacks:
        callback()


def _tell_all(callbacks: list[Callable[[str], None]], reason: str) -> None:
    for callback in callbacks:
        callback(reason)
