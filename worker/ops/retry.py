"""`ingest retry`: run files that ended `failed` again.

For each failed file still at its recorded outcome path: in one transaction,
reset its ledger row to in flight (attempts 0) and move the file back to its
claim in the spool; then drop its sidecar and publish the claim alone. The
ledger row and file id stay the same. A crash after the move but before the
commit leaves the file in the spool with a `failed` row: the next delivery of
the claim (the watcher's catch-up) puts it back into failed/, and a second
`ingest retry` takes it again.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

from worker import db
from worker.fates import Fate
from worker.files import outcomes
from worker.files.claims import Claim, claimed_at
from worker.files.safe import open_root
from worker.files.spool import spool_parts
from worker.logs import printable
from worker.ops.selection import files_with_status, kept_path
from worker.settings import Settings

log = logging.getLogger(__name__)

Publish = Callable[[list[Claim]], None]


@dataclass(frozen=True, slots=True)
class Retried:
    file_id: int
    name: str
    outcome: str  # "requeued" or "missing" (no file left to run: e.g. file_vanished)


def retry_failed(settings: Settings, publish: Publish, targets: list[str]) -> list[Retried]:
    results: list[Retried] = []
    claims: list[Claim] = []
    files = open_root(settings.work_dir)
    spool = open_root(settings.spool_dir)
    try:
        url = settings.require_database_url()
        with db.connect(url, autocommit=True) as conn, db.wrap_errors():
            for row in files_with_status(conn, Fate.FAILED, targets):
                file_id, name, path = int(row["id"]), str(row["name"]), kept_path(row)
                if path is None or outcomes.lstat(files, path) is None:
                    results.append(Retried(file_id, name, "missing"))
                    continue
                claim_id = str(row["claim_id"])
                claim = Claim(claim_id, name, claimed_at(claim_id).isoformat())
                with conn.transaction():
                    if (
                        conn.execute(db.query("ops.retry_reset"), {"id": file_id}).fetchone()
                        is None
                    ):
                        continue  # retried concurrently
                    outcomes.move_out(files, path, spool, spool_parts(claim))
                outcomes.remove(files, outcomes.sidecar_path(path, claim_id))
                log.info("file %s (%s): failed -> requeued", file_id, printable(name))
                claims.append(claim)
                results.append(Retried(file_id, name, "requeued"))
    finally:
        os.close(files)
        os.close(spool)
    for claim in claims:
        publish([claim])  # alone: a file that failed must not sink a batch
    return results
