"""`ingest rejected`: list rejections, and release a corrected file back into the inbox.

Releasing moves the file from its recorded outcome path to `<inbox>/<name>`
(its name as dropped; never replacing a file there) and deletes its sidecar;
the watcher then takes it as a new file with a new ledger row. The old row
stays `rejected`: the ledger is the history of what was received.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from psycopg.rows import dict_row

from worker import db
from worker.errors import ConfigurationError
from worker.fates import Fate
from worker.files.claims import InvalidClaim, check_name
from worker.logs import printable
from worker.ops.selection import files_with_status, kept_path
from worker.settings import Settings
from worker.sources import Source, open_source

log = logging.getLogger(__name__)


def list_rejected(settings: Settings, targets: list[str]) -> list[dict[str, Any]]:
    """Rejected files (newest last), each with its records' rejections and its path if kept."""
    url = settings.require_database_url()
    with db.connect(url, autocommit=True) as conn, db.wrap_errors():
        rows = files_with_status(conn, Fate.REJECTED, targets)
        with conn.cursor(row_factory=dict_row) as cur:
            records = cur.execute(
                db.query("ops.rejected_records"), {"all": False, "ids": [r["id"] for r in rows]}
            ).fetchall()
    by_file: dict[int, list[dict[str, Any]]] = {}
    for record in records:
        by_file.setdefault(record["file_id"], []).append(
            {"record": record["record_no"], "reason": record["reason"], "detail": record["detail"]}
        )
    source = open_source(settings)
    try:
        kept = {r["id"]: _kept(source, kept_path(r)) for r in rows}
    finally:
        source.close()
    out = []
    for row in rows:
        path = kept[row["id"]]
        out.append(
            {
                "file_id": row["id"],
                "name": row["name"],
                "reason": row["reason"],
                "detail": row["detail"],
                "finished_at": row["finished_at"].isoformat() if row["finished_at"] else None,
                "path": source.location(path) if path else None,
                "records": by_file.get(row["id"], []),
            }
        )
    return out


def _kept(source: Source, path: str | None) -> str | None:
    return path if path is not None and source.kept(path) is not None else None


@dataclass(frozen=True, slots=True)
class Released:
    file_id: int
    name: str
    outcome: str  # "released", "missing" (no file kept) or "inbox_taken" (name in use)


def release(settings: Settings, target: str) -> list[Released]:
    """Put the rejected file(s) with this id or name back into the inbox."""
    url = settings.require_database_url()
    with db.connect(url, autocommit=True) as conn, db.wrap_errors():
        rows = files_with_status(conn, Fate.REJECTED, [target])
    if not rows:
        raise ConfigurationError(f"no rejected file with id or name {target!r}")
    source = open_source(settings)
    try:
        return [_release(source, row) for row in rows]
    finally:
        source.close()


def _release(source: Source, row: dict[str, Any]) -> Released:
    file_id, name, path = int(row["id"]), str(row["name"]), kept_path(row)
    if path is None or _kept(source, path) is None:
        return Released(file_id, name, "missing")
    try:
        check_name(name)
    except InvalidClaim:
        return Released(file_id, name, "inbox_taken")
    if not source.release(path, name, str(row["claim_id"])):  # one complete file appears
        return Released(file_id, name, "inbox_taken")
    log.info("file %s (%s): released into the inbox", file_id, printable(name))
    return Released(file_id, name, "released")
