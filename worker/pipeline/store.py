"""The batch's one transaction: documents, near-duplicate links and every file's fate.

In this order (every batch alike, so no deadlock): the ledger rows FOR UPDATE
in id order; the documents, sorted by content key (the unique key decides
duplicates; two batches with a key in common meet in that one order); the
fates, each with the outcome path chosen now, before the commit, so the move
after it goes exactly where the ledger says; last the near-duplicate links,
under the index's locks (`worker.dedupe.neardup`), held only from there to
the commit.

A database error that is not transient (a value PostgreSQL will not store) is
isolated: the batch is stored again one file per transaction, and only the
file at fault fails (`store_error`), at once, without charging the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg

from worker import db
from worker.dedupe import index_params, neardup
from worker.dedupe.minhash import PARAMS
from worker.fates import Fate, Verdict
from worker.files.outcomes import from_text, to_text
from worker.pipeline.examine import Examined
from worker.pipeline.verdicts import Decided, decide, records_count, split
from worker.records import Document

log = logging.getLogger(__name__)

#: Picks a file's outcome path: (fate, name as dropped, claim id) -> path under files_dir.
Choose = Callable[[Fate, str, str], str]


@dataclass(frozen=True, slots=True)
class Stored:
    verdict: Verdict
    document_id: int | None
    outcome_path: str | None


def store(
    conn: psycopg.Connection[Any], file_ids: dict[str, int], items: list[Examined], choose: Choose
) -> dict[str, Stored]:
    """claim id -> what was committed for it (twin-finished files included)."""
    try:
        return _transaction(conn, file_ids, items, choose)
    except psycopg.Error as exc:
        if isinstance(exc, db.TRANSIENT) or (len(items) == 1 and items[0].verdict is not None):
            raise
        log.warning("a batch of %d files hit %s; storing each alone", len(items), exc)
    out: dict[str, Stored] = {}
    for e in items:
        try:
            out.update(_transaction(conn, file_ids, [e], choose))
        except psycopg.Error as exc:
            if isinstance(exc, db.TRANSIENT):
                raise
            refused = f"{type(exc).__name__}: {exc.diag.message_primary or exc}"
            detail = f"PostgreSQL refused this file's data ({refused}); report it with the file."
            log.error("file %s: store_error: %s", file_ids[e.claim.claim_id], detail)
            failed = Examined(e.claim, size=e.size, sha256=e.sha256)
            failed.verdict = Verdict.failed("store_error", detail)
            out.update(_transaction(conn, file_ids, [failed], choose))
    return out


def _transaction(
    conn: psycopg.Connection[Any], file_ids: dict[str, int], items: list[Examined], choose: Choose
) -> dict[str, Stored]:
    out: dict[str, Stored] = {}
    with conn.transaction():
        locked = conn.execute(
            db.query("pipeline.lock_files"),
            {"ids": sorted(file_ids[e.claim.claim_id] for e in items)},
        ).fetchall()
        done = {
            fid: (Fate(status), doc, path)
            for fid, status, doc, path in locked
            if status != "processing"
        }
        pending = [e for e in items if file_ids[e.claim.claim_id] not in done]
        for e in items:
            if (row := done.get(file_ids[e.claim.claim_id])) is not None:
                out[e.claim.claim_id] = Stored(
                    Verdict(row[0]), row[1], row[2] and from_text(row[2])
                )  # a twin did it
        if not pending:
            return out
        if any(e.documents for e in pending):
            # Before our own documents exist: an empty index records its parameters.
            index_params.ensure_params(conn, PARAMS)
        doc_ids, owners = _insert_documents(conn, file_ids, pending)
        rows: list[tuple[int, Decided, Examined, str | None]] = []
        repeated: list[tuple[int, int | None, int]] = []
        for e in pending:
            file_id = file_ids[e.claim.claim_id]
            parts = split(e, file_id, owners)
            decided = decide(e, parts, doc_ids)
            path = (
                None
                if decided.verdict.reason == "file_vanished"
                else choose(decided.verdict.fate, e.claim.name, e.claim.claim_id)
            )
            rows.append((file_id, decided, e, path))
            if e.multi_record:
                repeated += [(file_id, r, doc_ids[k]) for r, k in parts.duplicates if r is not None]
            out[e.claim.claim_id] = Stored(decided.verdict, decided.document_id, path)
        _write_fates(conn, rows, repeated)
        # Last, so the index's lock is held only for the link itself (worker.dedupe.neardup).
        prints = {p.content_sha256: (p, d.normalised) for e in pending for d, p in e.documents}
        new = sorted((doc_ids[k], prints[k][0], prints[k][1]) for k in owners)
        neardup.link(conn, [(i, p) for i, p, _t in new], PARAMS, {i: t for i, _p, t in new})
    return out


def _insert_documents(
    conn: psycopg.Connection[Any], file_ids: dict[str, int], items: list[Examined]
) -> tuple[dict[str, int], dict[str, int]]:
    """Insert each distinct key once.

    Returns key -> document id, and key -> owning file id for the documents
    created by this batch (the first file in the batch that carries the key).
    """
    first: dict[str, tuple[Document, int]] = {}
    for e in items:
        for document, print_ in e.documents:
            first.setdefault(print_.content_sha256, (document, file_ids[e.claim.claim_id]))
    if not first:
        return {}, {}
    keys = sorted(first)
    docs = [first[k][0] for k in keys]
    inserted = conn.execute(
        db.query("pipeline.insert_documents"),
        {
            "published_on": [d.published_on for d in docs],
            "title": [d.title for d in docs],
            "body": [d.body for d in docs],
            "content_sha256": keys,
            "file_id": [first[k][1] for k in keys],
            "record_no": [d.record for d in docs],
            "url": [d.url for d in docs],
            "source": [d.source for d in docs],
            "word_count": [d.word_count for d in docs],
            "language": [d.language for d in docs],
        },
    ).fetchall()
    ids = {key: doc_id for doc_id, key in inserted}
    owners = {key: first[key][1] for key in ids}
    missing = [k for k in keys if k not in ids]
    if missing:
        for doc_id, key in conn.execute(db.query("pipeline.find_documents"), {"keys": missing}):
            ids[key] = doc_id
    return ids, owners


def _write_fates(
    conn: psycopg.Connection[Any],
    rows: list[tuple[int, Decided, Examined, str | None]],
    repeated: list[tuple[int, int | None, int]],
) -> None:
    conn.execute(
        db.query("pipeline.finish_files"),
        {
            "ids": [r[0] for r in rows],
            "status": [str(r[1].verdict.fate) for r in rows],
            "reason": [r[1].verdict.reason for r in rows],
            "detail": [r[1].verdict.detail for r in rows],
            "document_id": [r[1].document_id for r in rows],
            "size": [r[2].size for r in rows],
            "sha256": [r[2].sha256 for r in rows],
            "records": [records_count(r[2]) for r in rows],
            "outcome_path": [to_text(r[3]) if r[3] else None for r in rows],
        },
    )
    rejected = [
        (file_id, r)
        for file_id, _d, e, _p in rows
        if e.multi_record
        for r in e.rejections
        if r.record is not None
    ]
    if rejected:
        conn.execute(
            db.query("pipeline.insert_rejections"),
            {
                "file_id": [fid for fid, _r in rejected],
                "record_no": [r.record for _f, r in rejected],
                "reason": [r.reason for _f, r in rejected],
                "detail": [r.detail for _f, r in rejected],
            },
        )
    if repeated:
        conn.execute(
            db.query("pipeline.insert_duplicate_records"),
            {
                "file_id": [r[0] for r in repeated],
                "record_no": [r[1] for r in repeated],
                "document_id": [r[2] for r in repeated],
            },
        )
