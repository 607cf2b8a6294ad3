"""One batch of claimed files, end to end.

1. Lock and register: a session advisory lock per claim (a duplicate task
   skips files a live task is processing) and the ledger rows.
2. Plan (`worker.pipeline.plan`): run, start again, send off alone, fail.
3. Examine each file outside any transaction (`worker.pipeline.examine`).
4. One transaction for the batch (`worker.pipeline.store`).
5. After the commit, move each file where the ledger says (`worker.pipeline.finish`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from worker import db, metrics
from worker.fates import Fate, Verdict
from worker.files import outcomes
from worker.files.claims import Claim
from worker.pipeline import plan as planning
from worker.pipeline.examine import Examined, examine, fingerprint_all, read_languages
from worker.pipeline.finish import finish
from worker.pipeline.store import store
from worker.settings import Settings
from worker.sources import Source, open_source

log = logging.getLogger(__name__)


@dataclass(slots=True)
class BatchReport:
    fates: dict[str, Fate] = field(default_factory=dict)  # claim id -> fate
    retry: list[tuple[Claim, float]] = field(default_factory=list)  # (claim, delay s)
    skipped: int = 0


def process_batch(
    settings: Settings, claims: Sequence[Claim], *, count_attempts: bool = True
) -> BatchReport:
    report = BatchReport()
    unique = list({c.claim_id: c for c in claims}.values())
    url = settings.require_database_url()
    pool = db.pool(url, settings.db_pool_size)
    source = open_source(settings)
    try:
        with metrics.batch_timer(), db.wrap_errors(url=url), pool.connection() as conn:
            conn.autocommit = True
            try:
                _process(conn, settings, source, unique, report, count_attempts)
            finally:
                conn.execute(db.query("pipeline.unlock_claims"))
    finally:
        source.close()
    return report


def _process(
    conn: psycopg.Connection[Any],
    settings: Settings,
    source: Source,
    claims: list[Claim],
    report: BatchReport,
    count_attempts: bool,
) -> None:
    by_id = {c.claim_id: c for c in claims}
    locked = [
        row[0] for row in conn.execute(db.query("pipeline.lock_claims"), {"claim_ids": list(by_id)})
    ]
    report.skipped = len(by_id) - len(locked)
    if not locked:
        return
    todo = [by_id[c] for c in locked]
    rows = _register(conn, todo)
    file_ids = {r.claim_id: r.file_id for r in rows}
    attempts = {r.claim_id: r.attempts for r in rows}
    plan = planning.plan(rows, count_attempts=count_attempts, max_attempts=settings.max_attempts)
    for claim_id, tries in plan.alone.items():
        report.retry.append((by_id[claim_id], planning.retry_delay(tries)))
    if plan.start:
        ids = {file_ids[c]: c for c in plan.start}
        for file_id, tries in conn.execute(db.query("pipeline.start_files"), {"ids": list(ids)}):
            attempts[ids[file_id]] = tries

    examined = [_exhausted(by_id[c], tries) for c, tries in plan.exhausted.items()]
    options = settings.parse_options()
    source.prefetch([by_id[c] for c in plan.run + plan.start], options.max_file_bytes)
    for claim_id in plan.run + plan.start:
        examined.append(examine(by_id[claim_id], source, options, settings.parse_time_limit_s))
    read_languages(examined)
    fingerprint_all(examined)
    ready: list[Examined] = []
    changed: list[Examined] = []
    for item in examined:
        if item.changed:
            changed.append(item)
        elif item.crash is None:
            ready.append(item)
        elif planning.after_crash(attempts[item.claim.claim_id], settings.max_attempts):
            detail = f"Parsing failed {attempts[item.claim.claim_id]} times: {item.crash}"
            item.verdict, item.crash = Verdict.failed(item.crash_code, detail), None
            ready.append(item)
        else:
            tries = attempts[item.claim.claim_id]
            report.retry.append((item.claim, planning.retry_delay(tries)))
    if changed:
        # A writer was still at work: that look was no start. Back to wait, as the file is now.
        refund = [file_ids[e.claim.claim_id] for e in changed]
        conn.execute(db.query("pipeline.refund_attempts"), {"ids": refund})
        report.retry += [(e.now or e.claim, settings.settle_ms / 1000 + 1.0) for e in changed]

    stored = store(conn, file_ids, ready, source.choose) if ready else {}
    to_finish = {file_ids[c]: by_id[c] for c in [*stored, *plan.final]}
    known = {
        file_ids[c]: {
            "id": file_ids[c],
            "name": by_id[c].name,
            "status": str(s.verdict.fate),
            "reason": s.verdict.reason,
            "outcome_path": outcomes.to_text(s.outcome_path) if s.outcome_path else None,
        }
        for c, s in stored.items()
        if not s.verdict.fate.has_sidecar
    }
    for done in finish(conn, source, to_finish, known):
        claim_id = to_finish[done.file_id].claim_id
        report.fates[claim_id] = done.fate
        if claim_id in stored:  # a file decided by this task (not an earlier one)
            metrics.file_finished(done.fate)


def _register(conn: psycopg.Connection[Any], todo: list[Claim]) -> list[planning.Registered]:
    rows = conn.execute(
        db.query("pipeline.register_files"),
        {
            "claim_ids": [c.claim_id for c in todo],
            "names": [_db_text(c.name) for c in todo],
            "received_at": [c.received_at for c in todo],
        },
    ).fetchall()
    return [
        planning.Registered(claim_id, file_id, Fate(status), tries, inserted)
        for file_id, claim_id, status, tries, inserted in rows
    ]


def _exhausted(claim: Claim, tries: int) -> Examined:
    item = Examined(claim)
    item.verdict = Verdict.failed(
        "attempts_exhausted",
        f"Processing started {tries} times and never finished (worker killed or time limit).",
    )
    return item


def _db_text(value: str) -> str:
    # Names that are not valid UTF-8 on disk arrive with surrogate escapes.
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
