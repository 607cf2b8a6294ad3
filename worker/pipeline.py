"""One batch of claimed files, end to end.

1. Lock and register: a session advisory lock per claim (so a duplicate task
   skips files a live task is processing) and the ledger rows, counting attempts.
2. Examine each file outside any transaction: read, parse, validate, key.
3. One transaction: lock the ledger rows, insert documents (unique key decides
   duplicates), write every fate.
4. After the commit, move each file to its final folder (idempotent).
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from worker import db, metrics, neardup
from worker.errors import Rejected
from worker.inbox import Claim, finish, spool_path
from worker.limits import TimeLimitExceeded, time_limit
from worker.minhash import Fingerprint, MinHashParams, fingerprints
from worker.parse import parse_file
from worker.reasons import describe
from worker.records import Document, ParseOptions, RecordRejection
from worker.settings import Settings
from worker.validate import validate

log = logging.getLogger(__name__)

FINAL = frozenset({"stored", "duplicate", "rejected", "failed"})


@dataclass(slots=True)
class Examined:
    """What one file turned out to hold, before the database has a say."""

    claim: Claim
    size: int | None = None
    sha256: str | None = None
    documents: list[tuple[Document, Fingerprint]] = field(default_factory=list)
    # Valid documents with their normalised text, until the batch is fingerprinted at once.
    pending: list[tuple[Document, str]] = field(default_factory=list)
    rejections: list[RecordRejection] = field(default_factory=list)
    multi_record: bool = False
    error: tuple[str, str, str] | None = None  # (status, reason, detail) for the whole file
    crash: str | None = None  # unexpected exception: retried, then `failed`
    crash_code: str = "parser_crashed"  # or parse_timeout


@dataclass(slots=True)
class Fate:
    status: str
    reason: str | None = None
    detail: str | None = None
    document_id: int | None = None


@dataclass(slots=True)
class BatchReport:
    fates: dict[str, str] = field(default_factory=dict)  # claim_id -> status
    retry: list[tuple[Claim, int]] = field(default_factory=list)  # (claim, attempts so far)
    skipped: int = 0


def warm_up() -> None:
    """Load what the first file would otherwise load (language model, parsers)."""
    from worker import language

    language.detect("A warm-up sentence, long enough for the language model to judge it.")


PARAMS = MinHashParams()


def examine(claim: Claim, settings: Settings, options: ParseOptions) -> Examined:
    result = Examined(claim)
    path = spool_path(settings.spool_dir, claim)
    try:
        raw = _read(path, options.max_file_bytes, result)
    except Rejected as exc:
        result.error = ("rejected", exc.code, exc.detail)
        return result
    except FileNotFoundError:
        result.error = ("failed", "file_vanished", describe("file_vanished"))
        return result
    except OSError as exc:
        result.error = ("rejected", "unreadable", f"The file could not be read: {exc.strerror}.")
        return result
    result.sha256 = hashlib.sha256(raw).hexdigest()
    # Everything that looks at the content is guarded: an exception or a hang here is
    # this file's problem (retried alone, then `failed`), never the batch's.
    try:
        with time_limit(settings.parse_time_limit_s):
            _judge(result, raw, options)
    except Rejected as exc:
        result.error = ("rejected", exc.code, exc.detail)
    except TimeLimitExceeded as exc:
        result.crash, result.crash_code = f"parsing {exc} (parse_time_limit_s)", "parse_timeout"
    except Exception as exc:
        result.crash = "".join(traceback.format_exception_only(exc)).strip()[:500]
    if result.crash is not None or result.error is not None:
        result.pending.clear()
        result.rejections.clear()
    if result.crash is not None:
        log.warning(
            "file %s (%s): %s: %s", claim.claim_id, claim.name, result.crash_code, result.crash
        )
    return result


def fingerprint_all(items: list[Examined]) -> None:
    """Fingerprint every pending document of the batch in one rensa call.

    One call for the batch costs half of one per document. Should it raise, each
    file is tried alone, so only the file at fault is marked as crashed.
    """
    pending = [(e, doc, text) for e in items for doc, text in e.pending]
    try:
        prints = fingerprints([text for _e, _d, text in pending], PARAMS)
    except Exception:
        for e in items:
            _fingerprint_alone(e)
        return
    for (e, doc, _text), print_ in zip(pending, prints, strict=True):
        e.documents.append((doc, print_))
    for e in items:
        e.pending.clear()


def _fingerprint_alone(e: Examined) -> None:
    try:
        prints = fingerprints([text for _doc, text in e.pending], PARAMS)
    except Exception as exc:
        e.crash = "".join(traceback.format_exception_only(exc)).strip()[:500]
        e.rejections.clear()
    else:
        e.documents.extend((doc, p) for (doc, _t), p in zip(e.pending, prints, strict=True))
    e.pending.clear()


def _judge(result: Examined, raw: bytes, options: ParseOptions) -> None:
    parsed = parse_file(raw, result.claim.name, options)
    result.multi_record = len(parsed) != 1 or any(
        getattr(item, "record", None) is not None for item in parsed
    )
    for item in parsed:
        checked = item if isinstance(item, RecordRejection) else validate(item, options)
        if isinstance(checked, RecordRejection):
            result.rejections.append(checked)
        else:
            result.pending.append((checked, checked.normalised))


def _read(path: os.PathLike[str], limit: int, result: Examined) -> bytes:
    # lstat first: a link or a device is judged by its entry and never opened
    # (opening some devices has effects). O_NOFOLLOW and O_NONBLOCK cover an entry
    # swapped between the two calls: no link is followed, no FIFO blocks the worker.
    if not stat.S_ISREG(os.lstat(path).st_mode):
        raise _not_regular(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENXIO):  # a link; a socket
            raise _not_regular(path) from exc
        raise
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise _not_regular(path)
        result.size = info.st_size
        if info.st_size > limit:
            raise Rejected(
                "too_large", f"The file has {info.st_size} bytes; the limit is {limit} bytes."
            )
        raw = handle.read(limit + 1)
    if len(raw) > limit:
        raise Rejected("too_large", f"The file grew beyond the limit of {limit} bytes.")
    result.size = len(raw)
    return raw


def _not_regular(path: os.PathLike[str]) -> Rejected:
    if os.path.islink(path):
        return Rejected(
            "symlink",
            "The inbox entry is a symbolic link, and links are never followed; "
            "copy or move the file itself into the inbox.",
        )
    return Rejected(
        "not_a_file",
        "The inbox entry is not a regular file (a named pipe, socket or device) and was "
        "not read; drop regular files only.",
    )


def process_batch(
    settings: Settings, claims: Sequence[Claim], *, count_attempts: bool = True
) -> BatchReport:
    """`count_attempts=False` when the previous run of this very task ended in a
    transient error (database down): an outage is never held against a file."""
    report = BatchReport()
    unique = list({c.claim_id: c for c in claims}.values())
    pool = db.pool(settings.database_url or "", settings.db_pool_size)
    with metrics.batch_timer(), db.wrap_errors(), pool.connection() as conn:
        conn.autocommit = True
        try:
            _process(conn, settings, unique, report, count_attempts)
        finally:
            conn.execute("SELECT pg_advisory_unlock_all()")
    return report


def _process(
    conn: psycopg.Connection[Any],
    settings: Settings,
    claims: list[Claim],
    report: BatchReport,
    count_attempts: bool = True,
) -> None:
    by_id = {c.claim_id: c for c in claims}
    locked = {
        row[0]
        for row in conn.execute(db.query("lock_claims"), {"claim_ids": list(by_id)}).fetchall()
    }
    report.skipped = len(by_id) - len(locked)
    if not locked:
        return
    todo = [by_id[c] for c in by_id if c in locked]
    rows = conn.execute(
        db.query("register_files"),
        {
            "claim_ids": [c.claim_id for c in todo],
            "names": [_db_text(c.name) for c in todo],
            "received_at": [c.received_at for c in todo],
        },
    ).fetchall()
    file_ids: dict[str, int] = {}
    attempts: dict[str, int] = {}
    already: dict[str, str] = {}
    counted: set[str] = set()  # claims whose current start is already in `attempts`
    for file_id, claim_id, status, tries, inserted in rows:
        file_ids[claim_id] = file_id
        attempts[claim_id] = tries
        if status in FINAL:
            already[claim_id] = status
        elif inserted or not count_attempts:
            counted.add(claim_id)

    # Only real starts count: a duplicate delivery that merely sends a file off to be
    # retried alone (a redelivery, the watcher's sweep) must not use up its attempts.
    examined: list[Examined] = []
    run: list[Claim] = []
    again: list[Claim] = []
    for claim in todo:
        cid = claim.claim_id
        if cid in already:
            continue
        tries = attempts[cid]
        if (tries if cid in counted else tries + 1) > settings.max_attempts:
            item = Examined(claim)
            item.error = ("failed", "attempts_exhausted", _exhausted(tries))
            examined.append(item)
        elif cid in counted:
            run.append(claim)
        elif tries > 0 and len(todo) > 1:
            # Started before, never finished: alone, so a poison file cannot sink a batch again.
            report.retry.append((claim, tries))
        else:
            again.append(claim)
    if again:
        ids = {file_ids[c.claim_id]: c.claim_id for c in again}
        for file_id, tries in conn.execute(db.query("start_files"), {"ids": list(ids)}):
            attempts[ids[file_id]] = tries

    options = settings.parse_options()
    examined += [examine(claim, settings, options) for claim in run + again]
    fingerprint_all(examined)

    crashed = [e for e in examined if e.crash is not None]
    for item in crashed:
        tries = attempts[item.claim.claim_id]
        if tries >= settings.max_attempts:
            item.error = ("failed", item.crash_code, f"Parsing failed {tries} times: {item.crash}")
            item.crash = None
        else:
            report.retry.append((item.claim, tries))
    ready = [e for e in examined if e.crash is None]

    fates = _store(conn, file_ids, ready) if ready else {}
    for claim_id, status in already.items():
        fates[claim_id] = (status, None)
    for claim in todo:
        if claim.claim_id in fates:
            status, sidecar = fates[claim.claim_id]
            report.fates[claim.claim_id] = status
            if claim.claim_id not in already:  # a twin task counted it
                metrics.file_finished(status)
            try:
                final = finish(settings.spool_dir, settings.outcome_dir(status), claim, sidecar)
            except Exception:
                # The fate is committed; one file that cannot move must not strand the
                # rest of the batch in the spool. The next start moves it (catch-up).
                log.exception(
                    "file %s (%r): %s but not moved", file_ids[claim.claim_id], claim.name, status
                )
                continue
            log.info(
                "file %s (%r): %s%s%s",
                file_ids[claim.claim_id],
                claim.name,
                status,
                f" ({sidecar['reason']})" if sidecar else "",
                f" -> {final}" if final else "",
                extra={"file_id": file_ids[claim.claim_id]},
            )


def _records(count: int) -> str:
    return "1 record" if count == 1 else f"{count} records"


def _exhausted(tries: int) -> str:
    return f"Processing started {tries} times and never finished (worker killed or time limit)."


def _store(
    conn: psycopg.Connection[Any], file_ids: dict[str, int], items: list[Examined]
) -> dict[str, tuple[str, dict[str, object] | None]]:
    """The one transaction of the batch; returns claim_id -> (status, sidecar)."""
    out: dict[str, tuple[str, dict[str, object] | None]] = {}
    with conn.transaction():
        locked = conn.execute(
            db.query("lock_files"), {"ids": sorted(file_ids[e.claim.claim_id] for e in items)}
        ).fetchall()
        done = {fid for fid, status in locked if status in FINAL}
        pending = [e for e in items if file_ids[e.claim.claim_id] not in done]
        for e in items:
            if file_ids[e.claim.claim_id] in done:  # a twin task finished it meanwhile
                out[e.claim.claim_id] = (_status_of(conn, file_ids[e.claim.claim_id]), None)
        prints = {p.content_sha256: p for e in pending for _d, p in e.documents}
        neardup.lock(conn, prints.values(), PARAMS)  # before the insert: see worker.neardup
        doc_ids, owners = _insert_documents(conn, file_ids, pending)
        neardup.link(conn, [(doc_ids[k], prints[k]) for k in sorted(owners)], PARAMS)
        fates: list[tuple[int, Fate, Examined, _Split]] = []
        for e in pending:
            file_id = file_ids[e.claim.claim_id]
            split = _split(e, file_id, owners)
            fates.append((file_id, _decide(e, split, doc_ids), e, split))
        _write_fates(conn, fates, doc_ids)
    for file_id, fate, e, _ in fates:
        sidecar = None
        if fate.status in ("rejected", "failed"):
            sidecar = _sidecar(file_id, fate, e)
        out[e.claim.claim_id] = (fate.status, sidecar)
    return out


def _status_of(conn: psycopg.Connection[Any], file_id: int) -> str:
    row = conn.execute("SELECT status FROM ingest_files WHERE id = %s", (file_id,)).fetchone()
    return str(row[0]) if row else "failed"


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
        db.query("insert_documents"),
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
        for doc_id, key in conn.execute(db.query("find_documents"), {"keys": missing}):
            ids[key] = doc_id
    return ids, owners


@dataclass(slots=True)
class _Split:
    """Which of a file's records created a document and which repeat one."""

    stored: list[str]
    duplicates: list[tuple[int | None, str]]  # (record number, key)


def _split(e: Examined, file_id: int, owners: dict[str, int]) -> _Split:
    seen: set[str] = set()
    split = _Split([], [])
    for document, print_ in e.documents:
        key = print_.content_sha256
        if owners.get(key) == file_id and key not in seen:
            split.stored.append(key)
        else:
            split.duplicates.append((document.record, key))
        seen.add(key)
    return split


def _decide(e: Examined, split: _Split, doc_ids: dict[str, int]) -> Fate:
    if e.error is not None:
        status, reason, detail = e.error
        return Fate(status, reason, detail)
    if not e.multi_record:
        if e.rejections:
            only = e.rejections[0]
            return Fate("rejected", only.code, only.detail)
        key = e.documents[0][1].content_sha256
        return Fate("stored" if split.stored else "duplicate", document_id=doc_ids[key])
    stored, duplicates = len(split.stored), len(split.duplicates)
    summary = (
        f"{_records(stored + duplicates + len(e.rejections))}: {stored} stored, "
        f"{duplicates} duplicate, {len(e.rejections)} rejected."
    )
    if stored:
        return Fate("stored", detail=summary)
    if duplicates:
        return Fate("duplicate", detail=summary)
    if e.rejections:
        return Fate("rejected", "no_valid_records", summary)
    return Fate("rejected", "empty_file", "The file holds no records.")


def _write_fates(
    conn: psycopg.Connection[Any],
    fates: list[tuple[int, Fate, Examined, _Split]],
    doc_ids: dict[str, int],
) -> None:
    conn.execute(
        db.query("finish_files"),
        {
            "ids": [row[0] for row in fates],
            "status": [row[1].status for row in fates],
            "reason": [row[1].reason for row in fates],
            "detail": [row[1].detail for row in fates],
            "document_id": [row[1].document_id for row in fates],
            "size": [row[2].size for row in fates],
            "sha256": [row[2].sha256 for row in fates],
            "records": [
                len(e.documents) + len(e.rejections) if e.multi_record else None
                for _i, _f, e, _s in fates
            ],
        },
    )
    multi = [(fid, e, split) for fid, _f, e, split in fates if e.multi_record]
    rejected = [(fid, r) for fid, e, _s in multi for r in e.rejections if r.record is not None]
    if rejected:
        conn.execute(
            db.query("insert_rejections"),
            {
                "file_id": [fid for fid, _r in rejected],
                "record_no": [r.record for _f, r in rejected],
                "reason": [r.code for _f, r in rejected],
                "detail": [r.detail for _f, r in rejected],
            },
        )
    repeated = [
        (fid, record, doc_ids[key])
        for fid, _e, split in multi
        for record, key in split.duplicates
        if record is not None
    ]
    if repeated:
        conn.execute(
            db.query("insert_duplicate_records"),
            {
                "file_id": [r[0] for r in repeated],
                "record_no": [r[1] for r in repeated],
                "document_id": [r[2] for r in repeated],
            },
        )


def _sidecar(file_id: int, fate: Fate, e: Examined) -> dict[str, object]:
    return {
        "file_id": file_id,
        "name": _db_text(e.claim.name),  # as in the ledger: a sidecar is UTF-8 JSON
        "status": fate.status,
        "reason": fate.reason,
        "detail": fate.detail,
        "sha256": e.sha256,
        "received_at": e.claim.received_at,
        "records": [
            {"record": r.record, "reason": r.code, "detail": r.detail} for r in e.rejections
        ],
    }


def _db_text(value: str) -> str:
    # Names that are not valid UTF-8 on disk arrive with surrogate escapes.
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
