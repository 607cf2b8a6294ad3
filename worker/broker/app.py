"""The Celery application: JSON only, late acknowledgement, redelivery on worker loss.

`create` builds an app from settings; nothing here loads settings or registers
tasks at import. The watcher and the operator commands publish by task name
through an app of their own; the worker's app, with the task and its signal
handlers, is `worker.pipeline.tasks`.
"""

from __future__ import annotations

from celery import Celery

from worker.constants import QUEUE
from worker.settings import Settings


def create(settings: Settings) -> Celery:
    app = Celery("ingest", broker=settings.require_broker_url(), set_as_current=False)
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
        task_default_queue=QUEUE,
        enable_utc=True,
    )
    return app
