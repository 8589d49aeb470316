"""The journal on real SQLite files: durability, history pages, retention."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

from dispatch_tui.protocol import encode
from dispatch_tui.server.journal import Entry, Journal, Retention


def entry(seq: int, room: str | None = "r") -> Entry:
    return Entry(seq, room, "client_message", encode("client_message", {"seq": seq}))


async def started(path: Path, retention: Retention | None = None) -> Journal:
    journal = Journal(path, retention)
    await asyncio.to_thread(journal.start, asyncio.get_running_loop())
    return journal


async def test_callbacks_run_after_commit_and_rows_are_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    journal = await started(path)
    durable: list[int] = []
    done = asyncio.Event()
    for seq in range(1, 201):
        journal.append(entry(seq), lambda seq=seq: (durable.append(seq), seq == 200 and done.set()))
    await asyncio.wait_for(done.wait(), 10)
    assert durable == list(range(1, 201))
    # Another connection sees every acknowledged row: it is committed, not buffered.
    with sqlite3.connect(path) as other:
        assert other.execute("SELECT count(*) FROM messages").fetchone()[0] == 200
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    journal.close()


async def test_history_since_limit_and_newest(tmp_path: Path) -> None:
    journal = await started(tmp_path / "j.sqlite3")
    for seq in range(1, 11):
        journal.append(entry(seq, "a" if seq % 2 else None))
    page = await journal.read("a", since=3, limit=2)
    assert [json.loads(p)["data"]["seq"] for p in page.payloads] == [5, 7]
    assert page.has_more
    page = await journal.read("a", since=7, limit=5)
    assert [json.loads(p)["data"]["seq"] for p in page.payloads] == [9]
    assert not page.has_more
    newest = await journal.read(None, since=None, limit=2)
    assert [json.loads(p)["data"]["seq"] for p in newest.payloads] == [8, 10]
    assert newest.has_more
    journal.close()


async def test_history_page_is_cut_at_max_bytes(tmp_path: Path) -> None:
    journal = await started(tmp_path / "j.sqlite3")
    for seq in range(1, 21):
        journal.append(entry(seq))
    size = len(entry(1).payload)
    page = await journal.read("r", since=0, limit=20, max_bytes=size * 5)
    assert len(page.payloads) == 5
    assert page.has_more
    journal.close()


async def test_reopen_continues_seq_and_retention_bounds_the_file(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    journal = await started(path, Retention(max_messages=5))
    for seq in range(1, 21):
        journal.append(entry(seq))
    await journal.flush()
    journal.close()
    reopened = await started(path, Retention(max_messages=5))
    assert reopened.last_seq == 20
    page = await reopened.read("r", since=0, limit=100)
    assert [json.loads(p)["data"]["seq"] for p in page.payloads] == [16, 17, 18, 19, 20]
    reopened.close()


async def test_retention_by_age(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    journal = await started(path)
    for seq in range(1, 4):
        journal.append(entry(seq))
    await journal.flush()
    journal.close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE messages SET created = created - 7200 WHERE seq < 3")
    reopened = await started(path, Retention(max_messages=None, max_age_seconds=3600))
    page = await reopened.read("r", since=0, limit=100)
    assert [json.loads(p)["data"]["seq"] for p in page.payloads] == [3]
    assert reopened.last_seq == 3
    reopened.close()


async def test_memory_journal_serves_history(tmp_path: Path) -> None:
    journal = await started(Path(":memory:"))
    journal.append(entry(1))
    page = await journal.read("r", since=None, limit=10)
    assert len(page.payloads) == 1
    journal.close()
