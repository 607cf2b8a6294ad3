"""`ingest rejected`: list rejections, and release a corrected file back into the inbox.

Releasing moves the file from <files>/rejected to `<inbox>/<name>` (its name as
dropped) and deletes its sidecar; the watcher then takes it as a new file with
a new ledger row. The old row stays `rejected`: the ledger is the history of
what was received.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

from psycopg.rows import dict_row

from worker import db
from worker.errors import ConfigurationError
from worker.inbox import remove_empty_dirs
from worker.outcomes import locate, sidecar_of
from worker.selection import files_with_status
from worker.settings import Settings

log = logging.getLogger(__name__)


def list_rejected(settings: Settings, targets: list[str]) -> list[dict[str, Any]]:
    """Rejected files (newest last), each with its records' rejections and its path if kept."""
    folder = settings.outcome_dir("rejected")
    with db.connect(settings.database_url or "", autocommit=True) as conn, db.wrap_errors():
        rows = files_with_status(conn, "rejected", targets)
        with conn.cursor(row_factory=dict_row) as cur:
            records = cur.execute(
                db.query("rejected_records"),
                {"all": False, "ids": [r["id"] for r in rows]},
            ).fetchall()
    by_file: dict[int, list[dict[str, Any]]] = {}
    for record in records:
        by_file.setdefault(record["file_id"], []).append(
            {"record": record["record_no"], "reason": record["reason"], "detail": record["detail"]}
        )
    out = []
    for row in rows:
        path = locate(folder, row["name"], row["claim_id"], row["id"], row["sha256"])
        out.append(
            {
                "file_id": row["id"],
                "name": row["name"],
                "reason": row["reason"],
                "detail": row["detail"],
                "finished_at": row["finished_at"].isoformat() if row["finished_at"] else None,
                "path": str(path) if path else None,
                "records": by_file.get(row["id"], []),
            }
        )
    return out


@dataclass(frozen=True, slots=True)
class Released:
    file_id: int
    name: str
    outcome: str  # "released", "missing" (no file kept) or "inbox_taken" (name in use)


def release(settings: Settings, target: str) -> list[Released]:
    """Put the rejected file(s) with this id or name back into the inbox."""
    folder = settings.outcome_dir("rejected")
    with db.connect(settings.database_url or "", autocommit=True) as conn, db.wrap_errors():
        rows = files_with_status(conn, "rejected", [target])
    if not rows:
        raise ConfigurationError(f"no rejected file with id or name {target!r}")
    results = []
    for row in rows:
        file_id, name = int(row["id"]), str(row["name"])
        # No sha256 check: the operator has corrected the file, its bytes changed.
        found = locate(folder, name, row["claim_id"], file_id)
        if found is None:
            results.append(Released(file_id, name, "missing"))
            continue
        destination = settings.inbox_dir / name
        if os.path.lexists(destination):
            results.append(Released(file_id, name, "inbox_taken"))
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        sidecar = sidecar_of(found)
        os.rename(found, destination)  # atomic: the watcher sees one complete file
        if sidecar.exists():
            sidecar.unlink()
        remove_empty_dirs(found.parent, folder)
        log.info("file %s (%s): released into the inbox", file_id, name)
        results.append(Released(file_id, name, "released"))
    return results
