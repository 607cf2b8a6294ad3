"""Hand a batch of claims to the broker as one Celery task (JSON payload)."""

from __future__ import annotations

from worker.inbox import Claim
from worker.settings import Settings
from worker.watch import Publish


def celery_publisher(settings: Settings) -> Publish:
    from worker.celery_app import TASK_BATCH, create

    app = create(settings)

    def publish(batch: list[Claim]) -> None:
        app.send_task(
            TASK_BATCH,
            args=[[claim.to_json() for claim in batch]],
            retry=True,
            retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
        )

    return publish
