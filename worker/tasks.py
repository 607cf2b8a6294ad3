"""Thin Celery tasks: decode the JSON payload and call the pipeline."""

from __future__ import annotations

import logging
from typing import Any

from worker.celery_app import TASK_BATCH, app, settings
from worker.errors import TransientError
from worker.inbox import Claim
from worker.pipeline import process_batch

log = logging.getLogger(__name__)


@app.task(  # type: ignore[untyped-decorator]
    name=TASK_BATCH,
    bind=True,
    autoretry_for=(TransientError,),
    retry_backoff=1,
    retry_backoff_max=30,
    retry_jitter=True,
    max_retries=None,
)
def ingest_batch(self: Any, payload: list[dict[str, str]]) -> dict[str, int]:
    claims = [Claim.from_json(item) for item in payload]
    report = process_batch(settings, claims)
    for claim, attempts in report.retry:
        # Alone, after a back-off: a file that broke a batch must not break the next one.
        ingest_batch.apply_async(args=[[claim.to_json()]], countdown=min(30, 2**attempts))
    counts: dict[str, int] = {}
    for status in report.fates.values():
        counts[status] = counts.get(status, 0) + 1
    counts["retried"] = len(report.retry)
    counts["skipped"] = report.skipped
    return counts
