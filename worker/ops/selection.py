"""Which ledger rows an operator command applies to: ids or names, or all of them."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row

from worker import db
from worker.fates import Fate
from worker.files.outcomes import from_text


def kept_path(row: dict[str, Any]) -> str | None:
    """The row's outcome path as a path (see worker.files.outcomes.to_text)."""
    text = row.get("outcome_path")
    return from_text(text) if text else None


def files_with_status(
    conn: psycopg.Connection[Any], status: Fate, targets: list[str]
) -> list[dict[str, Any]]:
    """Rows of `status`; `targets` are file ids or names as dropped (empty: every row)."""
    ids = [int(t) for t in targets if t.isdigit()]
    names = [t for t in targets if not t.isdigit()]
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            db.query("ops.files"),
            {"status": str(status), "all": not targets, "ids": ids, "names": names},
        ).fetchall()
