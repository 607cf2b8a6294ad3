"""The live line of `ingest up`: files received and their fates, rate, backlog and time left."""

from __future__ import annotations

import collections
import os
import time
from datetime import datetime
from typing import Any

import psycopg

from worker.errors import IngestError
from worker.ops.status import fates_since, inbox_waiting, server_clock
from worker.settings import Settings

WINDOW_S = 10.0  # the rate is measured over this much recent time


def spool_count(settings: Settings) -> int:
    """Claimed files without a final move yet (one scandir: the spool is flat); for an
    object-store inbox, the objects still listed under its prefix."""
    if settings.inbox_is_s3:
        try:
            return int(inbox_waiting(settings)["files"])
        except IngestError:
            return 0
    try:
        with os.scandir(settings.spool_dir) as entries:
            return sum(1 for _ in entries)
    except OSError:
        return 0


class Progress:
    def __init__(self, settings: Settings, database_url: str) -> None:
        self.settings = settings
        self.database_url = database_url
        self._conn: psycopg.Connection[Any] | None = None
        self._since: datetime | None = None
        self._samples: collections.deque[tuple[float, int]] = collections.deque()

    def start(self) -> None:
        """Count from now on (call before anything can be dropped)."""
        self._done()

    def line(self) -> str | None:
        """The current line, or None while the database cannot be read."""
        try:
            done = self._done()
        except (psycopg.Error, IngestError):
            self.close()  # the line must never stop the stack: reconnect next time
            return None
        finished = sum(done.values())
        in_flight = spool_count(self.settings)
        now = time.monotonic()
        self._samples.append((now, finished))
        while len(self._samples) > 2 and now - self._samples[0][0] > WINDOW_S:
            self._samples.popleft()
        first_t, first_n = self._samples[0]
        rate = (finished - first_n) / (now - first_t) if now > first_t else 0.0
        line = (
            f"received {finished + in_flight} | stored {done['stored']}"
            f" | duplicate {done['duplicate']} | rejected {done['rejected']}"
            f" | failed {done['failed']} | in flight {in_flight}"
        )
        if rate > 0:
            line += f" | {rate:,.1f} files/s" if rate < 10 else f" | {rate:,.0f} files/s"
        if in_flight and rate >= 1:
            line += f" | {in_flight:,} left, ~{_duration(in_flight / rate)}"
        return line

    def _done(self) -> dict[str, int]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.database_url, autocommit=True, connect_timeout=5)
        if self._since is None:
            self._since = server_clock(self._conn)
        return fates_since(self._conn, self._since)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
