"""The Celery application: JSON only, late acknowledgement, redelivery on worker loss."""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import (
    setup_logging,
    worker_init,
    worker_process_init,
    worker_process_shutdown,
    worker_ready,
)

from worker import db
from worker.logs import configure_logging, mark_ready
from worker.settings import Settings, load

TASK_BATCH = "ingest.batch"


def create(settings: Settings) -> Celery:
    app = Celery("ingest", broker=settings.broker_url, include=["worker.tasks"])
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_ignore_result=True,
        # A task is acknowledged only after it finished; a killed worker's batch is redelivered.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_time_limit=settings.task_time_limit_s,
        task_soft_time_limit=max(1, settings.task_time_limit_s - 10),
        worker_prefetch_multiplier=1,
        worker_max_tasks_per_child=10_000,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        # Longer than the longest batch, so Redis does not hand a running batch to another worker.
        broker_transport_options={"visibility_timeout": 4 * settings.task_time_limit_s},
        task_default_queue="ingest",
        enable_utc=True,
    )
    return app


settings = load()
app = create(settings)


@setup_logging.connect  # type: ignore[untyped-decorator]
def _logging(**_kwargs: Any) -> None:
    # Handled here, Celery leaves logging alone: its lines and ours share the
    # CLI's handler and format (settings.log_format: text or json).
    configure_logging(settings)


@worker_init.connect  # type: ignore[untyped-decorator]
def _warm_up(**_kwargs: Any) -> None:
    # Load models in the parent before the pool forks: children inherit them warm,
    # so the first file of a fresh worker is as fast as the thousandth.
    from worker.pipeline import warm_up

    warm_up()


@worker_ready.connect  # type: ignore[untyped-decorator]
def _ready(**_kwargs: Any) -> None:
    # After the pool forked its children: they must not inherit the listening socket.
    from worker.metrics import serve_worker

    serve_worker(settings)
    mark_ready()


@worker_process_init.connect  # type: ignore[untyped-decorator]
def _fresh_pools(**_kwargs: Any) -> None:
    # A forked child must not share the parent's sockets.
    db._pools.clear()


@worker_process_shutdown.connect  # type: ignore[untyped-decorator]
def _close_pools(**_kwargs: Any) -> None:
    db.close_pools()
