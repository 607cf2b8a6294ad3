"""Hand a batch of claims to the broker as one Celery task (JSON payload)."""

from __future__ import annotations

from collections.abc import Callable

from worker.broker.app import create
from worker.constants import TASK_BATCH
from worker.files.claims import Claim
from worker.settings import Settings

Publish = Callable[[list[Claim]], None]


def celery_publisher(settings: Settings) -> Publish:
    app = create(settings)

    def publish(batch: list[Claim]) -> None:
        app.send_task(
            TASK_BATCH,
            args=[[claim.to_json() for claim in batch]],
            retry=True,
            retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
        )

    return publish
