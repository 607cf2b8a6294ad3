"""`ingest retry`: run files that ended `failed` again.

For each failed file still at its recorded outcome path: in one transaction,
reset its ledger row to in flight (attempts 0) and put the file back where
claims wait (the spool; for an object store, the spool prefix
`<files>/spool/<claim id>/<name>`), its sidecar gone;
then publish the claim alone. The ledger row and file id stay the same. A
crash after the move but before the commit leaves the file waiting with a
`failed` row: the next delivery of the claim (the watcher's catch-up) puts it
back into failed/, and a second `ingest retry` takes it again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from worker import db
from worker.fates import Fate
from worker.files.claims import Claim, InvalidClaim, claimed_at
from worker.logs import printable
from worker.ops.selection import files_with_status, kept_path
from worker.settings import Settings
from worker.sources import open_source

log = logging.getLogger(__name__)

Publish = Callable[[list[Claim]], None]


@dataclass(frozen=True, slots=True)
class Retried:
    file_id: int
    name: str
    outcome: str  # "requeued", "missing" (no file left to run: e.g. file_vanished) or "invalid"


def retry_failed(settings: Settings, publish: Publish, targets: list[str]) -> list[Retried]:
    results: list[Retried] = []
    claims: list[Claim] = []
    source = open_source(settings)
    try:
        url = settings.require_database_url()
        with db.connect(url, autocommit=True) as conn, db.wrap_errors():
            for row in files_with_status(conn, Fate.FAILED, targets):
                file_id, name, path = int(row["id"]), str(row["name"]), kept_path(row)
                claim_id = str(row["claim_id"])
                try:
                    if path is None or source.kept(path) is None:
                        results.append(Retried(file_id, name, "missing"))
                        continue
                    claim = Claim(claim_id, name, claimed_at(claim_id).isoformat())
                    with conn.transaction():
                        reset = conn.execute(db.query("ops.retry_reset"), {"id": file_id})
                        if reset.fetchone() is None:
                            continue  # retried concurrently
                        source.requeue(path, claim)
                except (InvalidClaim, ValueError) as exc:
                    # A row no watcher of ours wrote (forged through the writer
                    # login, say): skipped alone, never followed.
                    log.warning("file %s: not retried: %s", file_id, printable(str(exc)))
                    results.append(Retried(file_id, name, "invalid"))
                    continue
                log.info("file %s (%s): failed -> requeued", file_id, printable(name))
                claims.append(claim)
                results.append(Retried(file_id, name, "requeued"))
    finally:
        source.close()
    for claim in claims:
        publish([claim])  # alone: a file that failed must not sink a batch
    return results
