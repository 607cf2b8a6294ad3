"""The change feed on a real PostgreSQL: staggered commits, concurrency, updates, NOTIFY."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

from tests.integration.test_pipeline import make_settings
from tests.support import Stack, drop_and_claim, ingest_env
from worker.db import feed
from worker.db.feed import START, Cursor
from worker.pipeline.batch import process_batch


def write_document(conn: psycopg.Connection[Any], title: str = "t") -> int:
    """One ledger row and its document, in the caller's transaction."""
    key = uuid.uuid4().hex
    row = conn.execute(
        "INSERT INTO ingest_files (claim_id, name, status) VALUES (%s, %s, 'stored') RETURNING id",
        (key, f"{key}.txt"),
    ).fetchone()
    assert row is not None
    doc = conn.execute(
        "INSERT INTO documents (body, content_sha256, file_id, word_count, title)"
        " VALUES ('body', %s, %s, 1, %s) RETURNING id",
        ((key * 2)[:64], row[0], title),
    ).fetchone()
    assert doc is not None
    return int(doc[0])


def read_all(url: str, after: Cursor = START) -> list[dict[str, Any]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return feed.read(conn, after)


def test_a_lower_transaction_committing_late_is_not_skipped(database_url: str) -> None:
    slow = psycopg.connect(database_url)
    fast = psycopg.connect(database_url)
    try:
        slow_doc = write_document(slow)  # first to write: the lower txid and document id
        fast_doc = write_document(fast)
        fast.commit()
        assert slow_doc < fast_doc

        # A naive `id > cursor` consumer sees the fast document now and moves past the slow one.
        with psycopg.connect(database_url, autocommit=True) as naive:
            seen = [r[0] for r in naive.execute("SELECT id FROM documents WHERE id > 0")]
        assert seen == [fast_doc]

        # The feed holds the fast one back while a lower transaction is in flight.
        assert read_all(database_url) == []
        slow.commit()
        rows = read_all(database_url)
        assert [r["id"] for r in rows] == [slow_doc, fast_doc]
        assert [r["op"] for r in rows] == ["insert", "insert"]
        assert read_all(database_url, Cursor.parse(rows[-1]["cursor"])) == []
    finally:
        slow.close()
        fast.close()


def test_concurrent_writers_with_staggered_commits_are_seen_once_in_order(
    database_url: str,
) -> None:
    committed: list[int] = []
    lock = threading.Lock()
    writers_done = threading.Event()
    errors: list[BaseException] = []

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        try:
            with psycopg.connect(database_url) as conn:
                for _ in range(25):
                    ids = [write_document(conn) for _ in range(rng.randint(1, 3))]
                    time.sleep(rng.uniform(0, 0.03))  # commit late, after others
                    if rng.random() < 0.1:
                        conn.rollback()  # aborted: must never appear
                        continue
                    conn.commit()
                    with lock:
                        committed.extend(ids)
        except BaseException as exc:
            errors.append(exc)

    seen: list[int] = []
    cursors: list[Cursor] = []

    def consumer() -> None:
        cursor = START
        with psycopg.connect(database_url, autocommit=True) as conn:
            while True:
                finished = writers_done.is_set()  # read before the last poll
                rows = feed.read(conn, cursor, limit=7)
                for row in rows:
                    seen.append(row["id"])
                    cursor = Cursor.parse(row["cursor"])
                    cursors.append(cursor)
                if finished and not rows:
                    return
                if not rows:
                    time.sleep(0.002)

    threads = [threading.Thread(target=writer, args=(seed,)) for seed in range(4)]
    reader = threading.Thread(target=consumer)
    reader.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    writers_done.set()
    reader.join(timeout=120)
    assert not errors, errors
    assert not reader.is_alive()
    assert len(committed) > 50
    assert sorted(seen) == sorted(committed), "every committed document, exactly once"
    assert len(seen) == len(set(seen))
    assert cursors == sorted(cursors) and len(set(cursors)) == len(cursors), "strictly in order"


def test_updates_are_fed_once_per_transaction_and_no_ops_are_not(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        doc = write_document(conn, title="old")
        conn.commit()
        conn.execute("UPDATE documents SET title = 'new' WHERE id = %s", (doc,))
        conn.execute("UPDATE documents SET title = 'newer' WHERE id = %s", (doc,))
        conn.commit()
        conn.execute("UPDATE documents SET title = 'newer' WHERE id = %s", (doc,))  # no change
        conn.commit()
    rows = read_all(database_url)
    assert [(r["id"], r["op"]) for r in rows] == [(doc, "insert"), (doc, "update")]
    assert rows[-1]["title"] == "newer"


def test_notify_is_delivered_at_commit(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as listener:
        listener.execute(f"LISTEN {feed.CHANNEL}")
        with psycopg.connect(database_url) as writer:
            write_document(writer)
            assert list(listener.notifies(timeout=0.3, stop_after=1)) == []  # not yet
            writer.commit()
        got = list(listener.notifies(timeout=10, stop_after=1))
    assert [n.channel for n in got] == [feed.CHANNEL]


def test_the_pipeline_feeds_what_it_stores_and_now_starts_after_it(
    tmp_path: Path, database_url: str, samples: list[Path]
) -> None:
    settings = make_settings(tmp_path, database_url)
    process_batch(settings, [drop_and_claim(settings, p.name, p.read_bytes()) for p in samples])
    rows = read_all(database_url)
    assert len(rows) == 3 and {r["op"] for r in rows} == {"insert"}
    assert read_all(database_url, feed.current(database_url)) == []


def tail(url: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "worker", "tail", *args],
        env=ingest_env(INGEST_DATABASE_URL=url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def lines_of(process: subprocess.Popen[str]) -> list[dict[str, Any]]:
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return [json.loads(line) for line in out.splitlines()]


def test_ingest_tail_follows_from_now_and_resumes_from_a_cursor(
    stack: Stack, samples: list[Path]
) -> None:
    stack.start()
    for path in samples[:2]:
        stack.drop(path.name, path.read_bytes())
    stack.wait_finished(2)

    live = tail(stack.database_url, "--count", "1", "--poll", "0.5")
    assert live.stderr is not None
    assert "following from cursor" in live.stderr.readline()
    stack.drop(samples[2].name, samples[2].read_bytes())
    [new] = lines_of(live)
    third = next(f for f in stack.wait_finished(3) if f["name"] == samples[2].name)
    assert new["op"] == "insert" and new["document"]["id"] == third["document_id"]
    assert new["document"]["body"] and new["document"]["published_on"]

    everything = lines_of(tail(stack.database_url, "--since", "start", "--count", "3"))
    assert [e["document"]["id"] for e in everything][2] == new["document"]["id"]
    resumed = lines_of(tail(stack.database_url, "--since", everything[1]["cursor"], "--count", "1"))
    assert resumed == [everything[2]]
