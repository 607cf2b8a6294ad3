"""After the commit: each file with a fate goes to the outcome path the ledger records.

For a rejected or failed file the sidecar comes first, rebuilt from the
ledger, then the move, which never replaces anything. If the recorded path
was taken meanwhile, the claim's own name is recorded first and used. A file
that cannot be moved now (a full disk, say) stays in the spool with its fate
committed: the next delivery of its claim finishes it the same way.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row

from worker import db
from worker.errors import TransientError
from worker.fates import Fate
from worker.files import outcomes
from worker.files.claims import Claim
from worker.logs import printable
from worker.pipeline.verdicts import sidecar
from worker.sources import Source

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Finished:
    file_id: int
    fate: Fate
    reason: str | None
    outcome_path: str | None


def finish(
    conn: psycopg.Connection[Any],
    source: Source,
    claims: dict[int, Claim],
    known: dict[int, dict[str, Any]],
) -> list[Finished]:
    """Move every file of `claims` (file id -> claim) whose fate is committed.

    `known`: ledger rows this task has just written, for files without a sidecar
    (stored, duplicate); every other row is read back from the ledger.
    """
    if not claims:
        return []
    rows = [known[i] for i in claims if i in known]
    with conn.cursor(row_factory=dict_row) as cur:
        if asked := [i for i in claims if i not in known]:
            rows += cur.execute(db.query("pipeline.finished_rows"), {"ids": asked}).fetchall()
        with_sidecar = [r["id"] for r in rows if Fate(r["status"]).has_sidecar]
        records: dict[int, list[dict[str, object]]] = defaultdict(list)
        if with_sidecar:
            for r in cur.execute(db.query("pipeline.record_rejections"), {"ids": with_sidecar}):
                records[r.pop("file_id")].append(r)
    done: list[Finished] = []
    for row in rows:
        fate = Fate(row["status"])
        if not fate.final:
            continue
        claim = claims[row["id"]]
        try:
            path = _move(conn, source, claim, row, records.get(row["id"], []))
        except TransientError as exc:  # a full disk, a store that is down
            log.error("file %s: %s; it waits in the spool with its fate recorded", row["id"], exc)
            continue
        except Exception:
            # The fate is committed; one file that cannot move must not strand the rest
            # of the batch in the spool. A later delivery of its claim moves it.
            log.exception("file %s (%s): %s but not moved", row["id"], printable(row["name"]), fate)
            continue
        done.append(Finished(row["id"], fate, row["reason"], path))
        log.info(
            "file %s (%s): %s%s%s",
            row["id"],
            printable(row["name"]),
            fate,
            f" ({row['reason']})" if row["reason"] else "",
            f" -> {printable(path)}" if path else "",
            extra={"file_id": row["id"]},
        )
    return done


def _move(
    conn: psycopg.Connection[Any],
    source: Source,
    claim: Claim,
    row: dict[str, Any],
    records: list[dict[str, object]],
) -> str | None:
    fate = Fate(row["status"])
    path = outcomes.from_text(row["outcome_path"]) if row["outcome_path"] else None
    if path is None:
        if row["reason"] == "file_vanished":
            return None
        path = _record(conn, row["id"], source.choose(fate, claim.name, claim.claim_id))
    details = sidecar(row, records) if fate.has_sidecar else None
    if source.deliver(claim, path, details) is outcomes.Moved.TAKEN:
        # Taken since it was chosen: choose again from what is there now (a folder
        # looks; an object store cannot, and names the same key: then the claim's own).
        again = source.choose(fate, claim.name, claim.claim_id)
        if again == path:
            again = outcomes.alternate(fate, claim.name, claim.claim_id)
        path = _record(conn, row["id"], again)
        if source.deliver(claim, path, details) is outcomes.Moved.TAKEN:
            raise FileExistsError(f"both outcome paths of claim {claim.claim_id} are taken")
    return path


def _record(conn: psycopg.Connection[Any], file_id: int, path: str) -> str:
    conn.execute(
        db.query("pipeline.set_outcome_path"), {"id": file_id, "path": outcomes.to_text(path)}
    )
    return path
