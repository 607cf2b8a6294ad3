"""The naive design, kept only as a benchmark baseline.

One Celery task per file, and per file one transaction: ledger row, one
INSERT of the document, fate, commit. Same parser, validation and exact key
as the product; no micro-batching, no bulk statements, no near-dup index.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import psycopg
from celery import Celery

from worker.dedupe.minhash import MinHashParams, fingerprint
from worker.errors import Rejected
from worker.fates import Verdict
from worker.parse import parse_file
from worker.parse.validate import validate
from worker.records import ParseOptions

app = Celery("naive", broker=os.environ.get("NAIVE_BROKER_URL", "redis://127.0.0.1:6379/1"))
app.conf.update(
    task_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    task_default_queue="naive",
)
_conn: psycopg.Connection[tuple[object, ...]] | None = None
_params = MinHashParams()
_options = ParseOptions()


def _db() -> psycopg.Connection[tuple[object, ...]]:
    global _conn
    if _conn is None:
        _conn = psycopg.connect(os.environ["NAIVE_DATABASE_URL"])
    return _conn


@app.task(name="naive.file")  # type: ignore[untyped-decorator]
def ingest_file(path: str, claim_id: str) -> None:
    raw = Path(path).read_bytes()
    conn = _db()
    with conn.transaction():
        file_id = conn.execute(
            "INSERT INTO ingest_files (claim_id, name, size, sha256) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (claim_id) DO UPDATE SET attempts = ingest_files.attempts + 1 "
            "RETURNING id",
            (claim_id, path, len(raw), hashlib.sha256(raw).hexdigest()),
        ).fetchone()[0]  # type: ignore[index]
        try:
            items = parse_file(raw, path, _options)
            checked = [i if isinstance(i, Verdict) else validate(i, _options) for i in items]
        except Rejected as exc:
            checked = [Verdict.rejected(exc.reason, exc.detail)]
        first = checked[0]
        if isinstance(first, Verdict):
            conn.execute(
                "UPDATE ingest_files SET status='rejected', reason=%s, detail=%s, "
                "finished_at=clock_timestamp() WHERE id=%s",
                (first.reason, first.detail, file_id),
            )
            return
        key = fingerprint(first.body, _params).content_sha256
        row = conn.execute(
            "INSERT INTO documents (published_on, title, body, content_sha256, file_id, "
            "word_count, language) VALUES (%s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (content_sha256) DO NOTHING RETURNING id",
            (
                first.published_on,
                first.title,
                first.body,
                key,
                file_id,
                first.word_count,
                first.language,
            ),
        ).fetchone()
        status = "stored" if row else "duplicate"
        if row is None:
            row = conn.execute(
                "SELECT id FROM documents WHERE content_sha256 = %s", (key,)
            ).fetchone()
        conn.execute(
            "UPDATE ingest_files SET status=%s, document_id=%s, finished_at=clock_timestamp() "
            "WHERE id=%s",
            (status, row[0] if row else None, file_id),
        )
