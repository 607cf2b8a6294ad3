"""The change feed: every document written, exactly once, in transaction order.

The `document_feed` table is filled by triggers on `documents`, in the
transaction that writes them (migration 003). An entry is `(txid, seq)`: the
64-bit id of the writing transaction and a sequence number. `feed_since`
returns entries after a cursor whose transaction id is below the xmin of the
reader's snapshot. Why that never skips a row: a transaction below xmin has
finished (committed: visible now; aborted: never visible), and one that commits
later has an id at or above that xmin, so above every cursor handed out so
far. A slow transaction holds back the entries above it until it ends; it can
delay the feed, never reorder or lose it.

Order is by transaction id (assigned at a transaction's first write), not by
commit instant: a transaction that committed before another one started
writing always comes first.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from worker.db.pool import connect, wrap_errors
from worker.db.queries import query

log = logging.getLogger(__name__)

CHANNEL = "ingest_documents"
#: Who may read the feed (the writer role may not).
READER_LOGIN = "The change feed is for readers: use a login that is a member of ingest_reader."
_CURSOR = re.compile(r"^(\d+):(\d+)$")


@dataclass(frozen=True, slots=True, order=True)
class Cursor:
    txid: int
    seq: int

    def __str__(self) -> str:
        return f"{self.txid}:{self.seq}"

    @classmethod
    def parse(cls, text: str) -> Cursor:
        """`TXID:SEQ` as printed by `ingest tail`; `0:0` is the start of the feed."""
        match = _CURSOR.match(text.strip())
        if not match:
            raise ValueError(f"not a feed cursor (TXID:SEQ): {text!r}")
        return cls(int(match[1]), int(match[2]))


START = Cursor(0, 0)


def now(conn: psycopg.Connection[Any]) -> Cursor:
    """A cursor after everything already committed: tail from now on."""
    row = conn.execute(query("feed.now")).fetchone()
    assert row is not None
    return Cursor(int(row[0]), int(row[1]))


def read(conn: psycopg.Connection[Any], after: Cursor, limit: int = 500) -> list[dict[str, Any]]:
    """Entries after `after` with their documents; each row has `cursor` to resume from."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            query("feed.read"), {"txid": str(after.txid), "seq": after.seq, "limit": limit}
        ).fetchall()
    for row in rows:
        row["cursor"] = str(Cursor(int(row.pop("txid")), int(row.pop("seq"))))
    return rows


def current(url: str) -> Cursor:
    with connect(url, autocommit=True) as conn, wrap_errors(denied=READER_LOGIN):
        return now(conn)


def follow(
    url: str,
    after: Cursor,
    stop: threading.Event,
    poll_s: float = 1.0,
    batch: int = 500,
) -> Iterator[dict[str, Any]]:
    """Entries after `after`, as they commit, until `stop` is set.

    LISTEN wakes us at each commit that wrote documents; the poll is the
    fallback for entries held back by a slower transaction (their commit woke
    us before they became readable) and for a lost notification.
    """
    with connect(url, autocommit=True) as conn, wrap_errors(denied=READER_LOGIN):
        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
        cursor = after
        while not stop.is_set():
            rows = read(conn, cursor, batch)
            for row in rows:
                cursor = Cursor.parse(row["cursor"])
                yield row
            if len(rows) == batch:
                continue  # more is waiting: no need to sleep
            for _ in conn.notifies(timeout=poll_s, stop_after=1):
                pass
