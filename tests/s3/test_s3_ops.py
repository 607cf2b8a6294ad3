"""The operator's commands on an S3 inbox: status, retry, rejected --release, reprocess, prune."""

from __future__ import annotations

from pathlib import Path

from tests.s3.support import Area, article
from tests.support import query
from worker.files.claims import Claim
from worker.objects.listing import spool_claims
from worker.objects.store import client
from worker.ops.rejected import list_rejected, release
from worker.ops.reprocess import reprocess
from worker.ops.retention import prune
from worker.ops.retry import retry_failed
from worker.ops.status import report
from worker.pipeline.batch import process_batch

UNDATED = "An article without its date line, long enough to be judged on its merits.\n"


def test_retry_puts_a_failed_object_in_the_spool_prefix_and_runs_it_again(
    area: Area, database_url: str, broker_url: str
) -> None:
    failing = area.settings(database_url=database_url, broker_url=broker_url, max_attempts=0)
    area.upload("f.txt", article(1))
    [claim] = area.claims()
    assert process_batch(failing, [claim]).fates == {claim.claim_id: "failed"}
    assert set(area.keys(area.files)) == {"failed/f.txt", "errors/failed/f.txt.error.json"}

    published: list[Claim] = []
    settings = area.settings(database_url=database_url, broker_url=broker_url)
    [retried] = retry_failed(settings, published.extend, [])
    assert retried.outcome == "requeued"
    assert set(area.keys(area.files)) == {f"spool/{claim.claim_id}/f.txt"}
    [again] = published
    assert (again.claim_id, again.etag) == (claim.claim_id, None)  # read from the spool
    assert spool_claims(client(settings.s3_endpoint_url), area.files) == [again]

    assert process_batch(settings, [again]).fates == {claim.claim_id: "stored"}
    assert set(area.keys(area.files)) == {"processed/f.txt"}
    [row] = query(database_url, "SELECT status, claim_id FROM ingest_files")
    assert row == {"status": "stored", "claim_id": claim.claim_id}


def test_rejected_objects_are_listed_and_released_as_new_uploads(
    area: Area, database_url: str
) -> None:
    settings = area.settings(database_url=database_url)
    area.upload("sub/undated.txt", UNDATED)
    [claim] = area.claims()
    process_batch(settings, [claim])
    [listed] = list_rejected(settings, [])
    assert listed["reason"] == "missing_date"
    assert listed["path"] == area.files.url("rejected/sub/undated.txt")

    [released] = release(settings, "sub/undated.txt")
    assert released.outcome == "released"
    assert area.keys(area.files) == {}  # the object and its sidecar left
    [new] = area.claims()
    assert new.name == "sub/undated.txt" and new.claim_id != claim.claim_id

    area.upload("rejected/sub/undated.txt", UNDATED, where=area.files)  # kept again, say
    query(
        database_url,
        "UPDATE ingest_files SET outcome_path = 'rejected/sub/undated.txt' RETURNING id",
    )
    [taken] = release(settings, "sub/undated.txt")  # the name is in use in the inbox
    assert taken.outcome == "inbox_taken"


def test_reprocess_reads_kept_objects_and_prune_deletes_them(
    area: Area, database_url: str, samples: list[Path]
) -> None:
    settings = area.settings(database_url=database_url)
    for path in samples:
        area.upload(path.name, path.read_bytes())
    area.upload("undated.txt", UNDATED)
    process_batch(settings, area.claims())

    done = reprocess(settings, [])
    assert done.counts["files"] == 3 and done.counts.get("file_missing", 0) == 0

    pruned = prune(area.settings(database_url=database_url, keep_processed_days=0))
    assert sorted(p.path for p in pruned) == sorted(f"processed/{p.name}" for p in samples)
    assert set(area.keys(area.files)) == {
        "rejected/undated.txt",
        "errors/rejected/undated.txt.error.json",
    }
    assert reprocess(settings, []).counts["file_missing"] == 3


def test_status_counts_what_waits_in_the_inbox_prefix(
    area: Area, database_url: str, broker_url: str
) -> None:
    settings = area.settings(database_url=database_url, broker_url=broker_url, max_queued_files=2)
    for i in range(3):
        area.upload(f"{i}.txt", article(i))
    area.upload("x.part", "junk")  # listed too: it waits in the prefix all the same
    data = report(settings)
    assert data["inbox_waiting"]["files"] == 4 and data["inbox_waiting"]["oldest"] is not None
    assert data["spool_backlog"] == 0
    assert "max_queued_files (2)" in data["holding_back"]

    process_batch(settings, area.claims())
    data = report(settings)
    assert data["inbox_waiting"]["files"] == 1 and data["holding_back"] is None
    assert data["files"]["stored"] == 3
