"""`ingest reprocess`: re-parse stored files after a parser change, idempotently.

What it does, precisely. For each file whose fate is `stored` and whose bytes
are still at their recorded outcome path (checked against the ledger's sha256), parse and
validate it again with the current code, and for each record match the document
that file created (same record number):

- same content key (the normalised body is unchanged): the fields parsing
  derives beside the body (published_on, title, url, source, word_count,
  language) are updated where they differ; the change feed gets an `update`
  entry. Nothing differs: nothing is written, so a second run changes nothing.
- a different content key, or the record is now rejected: reported
  (`body_changed`, `now_rejected`) and left alone. The body is a document's
  identity (its dedupe key, what consumers already read); reprocess never
  rewrites or deletes a document.

Files that ended `duplicate`, `rejected` or `failed` are not touched (use
`ingest rejected --release` and `ingest retry` for the last two).
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import psycopg

from worker import db
from worker.dedupe.normalise import content_sha256
from worker.errors import Rejected
from worker.fates import Fate, Verdict
from worker.ops.selection import files_with_status, kept_path
from worker.parse import parse_file
from worker.parse.validate import validate
from worker.records import Document, ParseOptions
from worker.settings import Settings
from worker.sources import Source, open_source

log = logging.getLogger(__name__)


@dataclass(slots=True)
class ReprocessReport:
    counts: Counter[str] = field(default_factory=Counter)
    notes: list[dict[str, Any]] = field(default_factory=list)  # what was left alone, and why


def reprocess(settings: Settings, targets: list[str], *, dry_run: bool = False) -> ReprocessReport:
    report = ReprocessReport()
    options = settings.parse_options()
    source = open_source(settings)
    url = settings.require_database_url()
    try:
        with db.connect(url, autocommit=True) as conn, db.wrap_errors():
            for row in files_with_status(conn, Fate.STORED, targets):
                _one(conn, source, row, options, report, dry_run)
    finally:
        source.close()
    return report


def _one(
    conn: psycopg.Connection[Any],
    source: Source,
    row: dict[str, Any],
    options: ParseOptions,
    report: ReprocessReport,
    dry_run: bool,
) -> None:
    file_id, name = int(row["id"]), str(row["name"])
    path = kept_path(row)
    raw = None if path is None else source.read_kept(path, options.max_file_bytes)
    if raw is None or hashlib.sha256(raw).hexdigest() != str(row["sha256"]).strip():
        report.counts["file_missing"] += 1  # gone, or not the bytes that were stored
        return
    try:
        parsed = parse_file(raw, name, options)
    except Rejected as exc:
        parsed = [Verdict.rejected(exc.reason, exc.detail)]
    with conn.transaction(force_rollback=dry_run):
        _refresh(conn, file_id, name, parsed, options, report)
    report.counts["files"] += 1


def _refresh(
    conn: psycopg.Connection[Any],
    file_id: int,
    name: str,
    parsed: list[Any],
    options: ParseOptions,
    report: ReprocessReport,
) -> None:
    owned = {
        record_no: (doc_id, key)
        for doc_id, record_no, key in conn.execute(
            db.query("ops.reprocess_documents"), {"file_id": file_id}
        )
    }
    for item in parsed:
        checked = item if isinstance(item, Verdict) else validate(item, options)
        record = checked.record
        if record not in owned:
            continue  # a record that repeated another file's document, or was rejected before
        doc_id, key = owned[record]
        note = {"file_id": file_id, "name": name, "record": record, "document_id": doc_id}
        if isinstance(checked, Verdict):
            report.counts["now_rejected"] += 1
            report.notes.append({**note, "outcome": "now_rejected", "reason": checked.reason})
        elif content_sha256(checked.body) != str(key).strip():
            report.counts["body_changed"] += 1
            report.notes.append({**note, "outcome": "body_changed"})
        elif _update(conn, doc_id, checked):
            report.counts["updated"] += 1
            log.info("file %s (%s): document %s refreshed", file_id, name, doc_id)
        else:
            report.counts["unchanged"] += 1


def _update(conn: psycopg.Connection[Any], doc_id: int, doc: Document) -> bool:
    row = conn.execute(
        db.query("ops.reprocess_update"),
        {
            "id": doc_id,
            "published_on": doc.published_on,
            "title": doc.title,
            "url": doc.url,
            "source": doc.source,
            "word_count": doc.word_count,
            "language": doc.language,
        },
    ).fetchone()
    return row is not None
