"""Thin Celery tasks: decode the JSON payload and call the pipeline."""

from __future__ import annotations

import logging
from typing import Any

from celery.utils.time import get_exponential_backoff_interval

from worker.celery_app import TASK_BATCH, app, settings
from worker.errors import TransientError
from worker.inbox import Claim
from worker.pipeline import process_batch

log = logging.getLogger(__name__)


@app.task(  # type: ignore[untyped-decorator]
    name=TASK_BATCH,
    bind=True,
    max_retries=None,
)
def ingest_batch(self: Any, payload: list[dict[str, str]], resumed: bool = False) -> dict[str, int]:
    claims = [Claim.from_json(item) for item in payload]
    try:
        report = process_batch(settings, claims, count_attempts=not resumed)
    except TransientError as exc:
        # Capped exponential back-off with full jitter; the retry is marked `resumed`
        # so the outage does not count against the files' attempts.
        countdown = get_exponential_backoff_interval(1, self.request.retries, 30, True)
        log.warning("batch of %d files: %s; retry in %ss", len(claims), exc, countdown)
        raise self.retry(exc=exc, countdown=countdown, kwargs={"resumed": True}) from exc
    for claim, attempts in report.retry:
        # Alone, after a back-off: a file that broke a batch must not break the next one.
        ingest_batch.apply_async(args=[[claim.to_json()]], countdown=min(30, 2**attempts))
    counts: dict[str, int] = {}
    for status in report.fates.values():
        counts[status] = counts.get(status, 0) + 1
    counts["retried"] = len(report.retry)
    counts["skipped"] = report.skipped
    return counts
