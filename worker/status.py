"""Counts of files by fate, for `ingest status` and the live line of `ingest up`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from worker import db

FATES = ("processing", "stored", "duplicate", "rejected", "failed")


def fate_counts(url: str) -> dict[str, int]:
    counts = dict.fromkeys(FATES, 0)
    with db.connect(url, autocommit=True) as conn, db.wrap_errors():
        for status, count in conn.execute(db.query("fate_counts")):
            counts[str(status)] = int(str(count))
    return counts


def spool_backlog(spool: Path) -> int:
    if not spool.is_dir():
        return 0
    return sum(len(files) for _root, _dirs, files in os.walk(spool))


def snapshot(url: str, spool: Path) -> dict[str, Any]:
    counts = fate_counts(url)
    return {
        "files": counts,
        "received": sum(counts.values()),
        "spool_backlog": spool_backlog(spool),
    }
