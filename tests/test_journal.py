"""The journal on real SQLite files: durability, history pages, retention."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest

from dispatch_tui.protocol import encode_value
from dispatch_tui.server.journal import Entry, Journal, Retention


def entry(seq: int, room: str | None = "r") -> Entry:
    return Entry(
        seq, room, "client_message", encode_value({"event": "client_message", "data": {"seq": seq}})
    )


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


async def test_a_stored_seq_is_never_replaced_and_a_conflict_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal = await started(tmp_path / "j.sqlite3")
    first = Entry(
        1,
        "r",
        "client_message",
        encode_value({"event": "client_message", "data": {"seq": 1, "m": "first"}}),
    )
    other = Entry(
        1,
        "r",
        "client_message",
        encode_value({"event": "client_message", "data": {"seq": 1, "m": "other"}}),
    )
    journal.append(first)
    journal.append(first, from_log=True)
    await journal.flush()
    assert "arrived again" not in caplog.text, "the same message twice is expected and silent"
    journal.append(other, from_log=True)
    await journal.flush()
    page = await journal.read("r", 0, 10)
    assert page.payloads == [first.payload]
    assert "seq 1 arrived again with other content" in caplog.text
    journal.close()


async def test_the_log_cursor_and_cluster_facts_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    journal = await started(path)
    journal.append(entry(7))
    journal.append(entry(5), from_log=True)
    journal.remember("redis_epoch", "12e45")
    await journal.flush()
    journal.close()
    reopened = await started(path)
    assert reopened.log_cursor == 5, "only entries read from the shared log move the cursor"
    assert reopened.last_seq == 7
    assert reopened.remembered("redis_epoch") == "12e45"
    reopened.close()


async def test_retention_keeps_the_newest_messages_across_a_jump_in_seq(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    journal = await started(path, Retention(max_messages=3))
    for seq in (1, 2, 3, 1_000_004):
        journal.append(entry(seq))
    await journal.flush()
    journal.close()
    reopened = await started(path, Retention(max_messages=3))
    kept = [json.loads(p)["data"]["seq"] for p in (await reopened.read("r", 0, 10)).payloads]
    assert kept == [2, 3, 1_000_004]
    reopened.close()


async def test_a_cursor_move_alone_stores_nothing(tmp_path: Path) -> None:
    """A relay's own message read back from the log only moves the cursor."""
    path = tmp_path / "j.sqlite3"
    journal = await started(path)
    journal.append(entry(3))
    journal.advance_cursor(3)
    await journal.flush()
    journal.close()
    reopened = await started(path)
    assert reopened.log_cursor == 3
    assert [json.loads(p)["data"]["seq"] for p in (await reopened.read("r", 0, 10)).payloads] == [3]
    reopened.close()
