"""`ingest prune`: delete files kept in the outcome folders longer than their retention.

A file's age is the time since it reached its fate (`finished_at`, when it
was moved to its folder). Each file is found at the outcome path the ledger
records, deleted with its sidecar, and the ledger then says it is no longer
kept (`outcome_path` NULL). Only outcome files are ever touched: never the
inbox or the spool.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from psycopg.rows import dict_row

from worker import db
from worker.fates import Fate
from worker.files import outcomes
from worker.logs import printable
from worker.settings import Settings
from worker.sources import open_source

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Pruned:
    path: str  # under files_dir
    fate: str
    age_days: float
    size: int


def retention_days(settings: Settings) -> dict[Fate, float | None]:
    return {
        Fate.STORED: settings.keep_processed_days,
        Fate.DUPLICATE: settings.keep_duplicates_days,
        Fate.REJECTED: settings.keep_rejected_days,
        Fate.FAILED: settings.keep_failed_days,
    }


def prune(settings: Settings, *, dry_run: bool = False, now: float | None = None) -> list[Pruned]:
    moment = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    pruned: list[Pruned] = []
    source = open_source(settings)
    url = settings.require_database_url()
    try:
        with db.connect(url, autocommit=True) as conn, db.wrap_errors():
            for fate, days in retention_days(settings).items():
                if days is None:
                    continue
                before = moment - timedelta(days=days)
                with conn.cursor(row_factory=dict_row) as cur:
                    rows = cur.execute(
                        db.query("ops.prunable"), {"status": str(fate), "before": before}
                    ).fetchall()
                for row in rows:
                    path, claim_id = outcomes.from_text(row["outcome_path"]), str(row["claim_id"])
                    size = source.kept(path)
                    age = round((moment - row["finished_at"]).total_seconds() / 86_400, 3)
                    pruned.append(Pruned(path, str(fate), age, size or 0))
                    if dry_run:
                        continue
                    source.remove(path, claim_id, sidecar=fate.has_sidecar)
                    conn.execute(db.query("ops.forget_outcome"), {"id": row["id"]})
                    log.info("pruned %s (%s, %.1f days)", printable(path), fate, age)
    finally:
        source.close()
    return pruned
