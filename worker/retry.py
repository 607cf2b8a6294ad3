"""`ingest retry`: run files that ended `failed` again.

For each failed file still in <files>/failed: in one transaction, reset its
ledger row to in flight (attempts 0) and move the file back to its claim in
the spool; then drop the sidecar and publish the claim alone. The ledger row
and file id stay the same. A crash after the move but before the commit leaves
the file in the spool with a `failed` row: the watcher's catch-up puts it back
into failed/ and a second `ingest retry` takes it again.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from worker import db
from worker.inbox import Claim, remove_empty_dirs, spool_path
from worker.outcomes import locate, sidecar_of
from worker.selection import files_with_status
from worker.settings import Settings
from worker.watch import Publish

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Retried:
    file_id: int
    name: str
    outcome: str  # "requeued" or "missing" (no file left to run: e.g. file_vanished)


def retry_failed(settings: Settings, publish: Publish, targets: list[str]) -> list[Retried]:
    folder = settings.outcome_dir("failed")
    results: list[Retried] = []
    claims: list[Claim] = []
    with db.connect(settings.database_url or "", autocommit=True) as conn, db.wrap_errors():
        for row in files_with_status(conn, "failed", targets):
            file_id, name = int(row["id"]), str(row["name"])
            found = locate(folder, name, row["claim_id"], file_id, row["sha256"])
            if found is None:
                results.append(Retried(file_id, name, "missing"))
                continue
            claim = Claim(row["claim_id"], name, row["received_at"].isoformat())
            target = spool_path(settings.spool_dir, claim)
            with conn.transaction():
                if conn.execute(db.query("retry_reset"), {"id": file_id}).fetchone() is None:
                    continue  # retried concurrently
                target.parent.mkdir(parents=True, exist_ok=True)
                os.rename(found, target)  # same file system: the claim folders' own
            sidecar = sidecar_of(found)
            if sidecar.exists():
                sidecar.unlink()
            remove_empty_dirs(found.parent, folder)
            log.info("file %s (%s): failed -> requeued", file_id, name)
            claims.append(claim)
            results.append(Retried(file_id, name, "requeued"))
    for claim in claims:
        publish([claim])  # alone: a file that failed must not sink a batch
    return results
