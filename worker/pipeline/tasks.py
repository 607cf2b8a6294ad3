"""The Celery worker's app and its one task: a batch of claims, through the pipeline.

`celery -A worker.pipeline.tasks:app worker` finds `app` here; it is built
(settings loaded, signal handlers connected) on first use, not at import.
A message is validated before anything touches the disk: an item that no
watcher of ours could have written is logged and dropped, never read.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

from celery import Celery, shared_task
from celery.signals import (
    setup_logging,
    worker_init,
    worker_process_init,
    worker_process_shutdown,
    worker_ready,
)
from celery.utils.time import get_exponential_backoff_interval

from worker import db, metrics
from worker.broker.app import create
from worker.broker.depth import queue_depth
from worker.constants import TASK_BATCH
from worker.errors import TransientError
from worker.files.claims import Claim, InvalidClaim
from worker.logs import configure_logging, mark_ready
from worker.parse import language
from worker.pipeline.batch import process_batch
from worker.settings import Settings, load
from worker.sources import open_source

log = logging.getLogger(__name__)


@cache
def settings() -> Settings:
    return load()


@cache
def _app() -> Celery:
    app = create(settings())
    app.set_current()
    setup_logging.connect(_logging, weak=False)
    worker_init.connect(_warm_up, weak=False)
    worker_ready.connect(_ready, weak=False)
    worker_process_init.connect(_fresh_process, weak=False)
    worker_process_shutdown.connect(_close_pools, weak=False)
    return app


def __getattr__(name: str) -> Any:
    if name == "app":
        return _app()
    raise AttributeError(name)


@shared_task(name=TASK_BATCH, bind=True, max_retries=None)  # type: ignore[untyped-decorator]
def ingest_batch(self: Any, payload: list[object], resumed: bool = False) -> dict[str, int]:
    claims = _valid(payload)
    try:
        report = process_batch(settings(), claims, count_attempts=not resumed)
    except TransientError as exc:
        # Capped exponential back-off with full jitter; the retry is marked `resumed`
        # so the outage does not count against the files' attempts.
        countdown = get_exponential_backoff_interval(1, self.request.retries, 30, True)
        log.warning("batch of %d files: %s; retry in %ss", len(claims), exc, countdown)
        raise self.retry(exc=exc, countdown=countdown, kwargs={"resumed": True}) from exc
    for claim, delay in report.retry:
        # Alone, after a back-off: a file that broke a batch must not break the next one.
        ingest_batch.apply_async(args=[[claim.to_json()]], countdown=delay)
    counts: dict[str, int] = {}
    for fate in report.fates.values():
        counts[str(fate)] = counts.get(str(fate), 0) + 1
    counts["retried"] = len(report.retry)
    counts["skipped"] = report.skipped
    return counts


def _valid(payload: object) -> list[Claim]:
    if not isinstance(payload, list):
        log.warning("a task message without a list of claims was dropped: %r", str(payload)[:200])
        return []
    claims = []
    for item in payload:
        try:
            claims.append(Claim.from_json(item))
        except InvalidClaim as exc:
            log.warning("a task message item was dropped, never read: %s", exc)
    return claims


def _logging(**_kwargs: Any) -> None:
    # Handled here, Celery leaves logging alone: its lines and ours share one
    # handler and format (settings.log_format: text or json).
    configure_logging(settings())


def _warm_up(**_kwargs: Any) -> None:
    # Load models in the parent before the pool forks: children inherit them warm,
    # so the first file of a fresh worker is as fast as the thousandth.
    language.detect("A warm-up sentence, long enough for the language model to judge it.")


def _ready(**_kwargs: Any) -> None:
    # After the pool forked its children: they must not inherit the listening socket.
    current = settings()
    metrics.serve_worker(current, lambda: queue_depth(current.broker_url).pair())
    try:
        source = open_source(current)
    except OSError:
        pass  # nothing claimed yet: no files folder
    else:
        try:
            placed = source.place_pending()
        except TransientError as exc:
            log.warning("pending sidecars not put in place now (%s); the next delivery will", exc)
            placed = 0
        finally:
            source.close()
        if placed:
            log.info("put %d pending sidecars in place", placed)
    mark_ready()


def _fresh_process(**_kwargs: Any) -> None:
    db.forget_pools()  # a forked child must not share the parent's sockets


def _close_pools(**_kwargs: Any) -> None:
    db.close_pools()
