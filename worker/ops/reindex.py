"""`ingest reindex`: rebuild the near-duplicate index with the workers' parameters."""

from __future__ import annotations

from worker.dedupe.minhash import PARAMS
from worker.dedupe.rebuild import reindex
from worker.settings import Settings


def run_reindex(settings: Settings) -> int:
    report = reindex(settings.require_database_url(), PARAMS)
    print(
        f"reindexed {report.documents} documents: {report.near_duplicates} near-duplicates, "
        f"{report.relinked} links changed (parameters: {PARAMS.as_dict()})"
    )
    return 0
