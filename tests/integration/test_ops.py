"""Operator commands through the real stack: status, retry, reprocess, rejected, prune."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support import Stack, drop_and_claim, query, wait_for
from worker.ops.status import report
from worker.pipeline.batch import process_batch
from worker.settings import Settings

UNDATED = b"An article without its date line, long enough to be judged on its merits.\n"


def ingest(stack: Stack, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    done = stack.command(*args, **env)
    assert done.returncode == 0, f"ingest {' '.join(args)}: {done.stdout}\n{done.stderr}"
    return done


def ingest_json(stack: Stack, *args: str, **env: str) -> Any:
    return json.loads(ingest(stack, *args, "--json", **env).stdout)


def settings_of(stack: Stack, **values: Any) -> Settings:
    return Settings(
        database_url=stack.database_url, broker_url=stack.broker_url, inbox=stack.inbox, **values
    )


def files_in(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_status_reports_queue_backlog_rate_and_rejections(
    stack: Stack, samples: list[Path]
) -> None:
    stack.start(worker=False)  # batches wait in the broker
    for path in samples:
        stack.drop(path.name, path.read_bytes())
    stack.drop("undated.txt", UNDATED)
    settings = settings_of(stack)
    wait_for(lambda: report(settings)["spool_backlog"] == 4, what="4 claimed files")
    waiting = ingest_json(stack, "status")
    assert waiting["queue"]["error"] is None and waiting["queue"]["waiting"] >= 1
    assert waiting["spool_backlog"] == 4 and waiting["oldest_claim"]["age_s"] >= 0
    assert waiting["inbox_waiting"]["files"] == 0

    stack.start_process("worker", "worker")
    stack.wait_finished(4)
    wait_for(lambda: not stack.spool_files(), what="empty spool")
    done = ingest_json(stack, "status")
    assert done["files"] | {"processing": 0} == {
        "processing": 0,
        "stored": 3,
        "duplicate": 0,
        "rejected": 1,
        "failed": 0,
    }
    assert done["last_minute"]["finished"] == 4
    assert done["queue"] == {"waiting": 0, "unacked": 0, "error": None}
    assert done["spool_backlog"] == 0 and done["oldest_claim"] is None
    [latest] = done["latest_rejections"]
    assert (latest["name"], latest["reason"]) == ("undated.txt", "missing_date")

    text = ingest(stack, "status").stdout
    assert "latest rejections:" in text and "undated.txt: missing_date" in text

    watching = subprocess.Popen(
        [sys.executable, "-m", "worker", "status", "--json", "--watch", "0.2"],
        env=stack.env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert watching.stdout is not None
    refreshes = [json.loads(watching.stdout.readline()) for _ in range(2)]
    watching.send_signal(signal.SIGTERM)
    assert watching.wait(timeout=30) == 0
    assert [r["files"]["stored"] for r in refreshes] == [3, 3]

    # The views answer the same questions in SQL.
    fates = query(stack.database_url, "SELECT name, fate, reason FROM file_fates ORDER BY name")
    assert {(f["name"], f["fate"], f["reason"]) for f in fates} == {
        *((p.name, "stored", None) for p in samples),
        ("undated.txt", "rejected", "missing_date"),
    }
    assert len(query(stack.database_url, "SELECT id FROM stories")) == 3


def test_retry_runs_failed_files_again_under_their_ledger_row(
    stack: Stack, samples: list[Path]
) -> None:
    # A genuine `failed` fate: processed once with no attempts allowed.
    failing = settings_of(stack, max_attempts=0)
    claims = [drop_and_claim(failing, p.name, p.read_bytes()) for p in samples[:2]]
    assert set(process_batch(failing, claims).fates.values()) == {"failed"}
    failed_dir = stack.work / "failed"
    assert len(files_in(failed_dir)) == 2
    assert len(files_in(stack.work / "errors" / "failed")) == 2  # and their sidecars
    before = {f["id"]: f for f in stack.files()}

    stack.start()
    result = ingest_json(stack, "retry")
    assert sorted(r["outcome"] for r in result) == ["requeued", "requeued"]

    def all_stored() -> list[dict[str, Any]] | None:
        rows = stack.files()
        return rows if {f["status"] for f in rows} == {"stored"} else None

    files = wait_for(all_stored, timeout=60, what="retried files stored")
    assert {f["id"] for f in files} == set(before), "same ledger rows, no new ones"
    assert all(f["attempts"] == 1 and f["reason"] is None for f in files)
    assert files_in(failed_dir) == []
    assert files_in(stack.work / "errors" / "failed") == []  # no sidecar left behind
    wait_for(lambda: len(files_in(stack.work / "processed")) == 2, what="processed files")
    assert ingest_json(stack, "retry") == []  # nothing left to retry


def test_reprocess_refreshes_metadata_idempotently(stack: Stack, samples: list[Path]) -> None:
    stack.start()
    for path in samples:
        stack.drop(path.name, path.read_bytes())
    stack.wait_finished(3)
    wait_for(lambda: len(files_in(stack.work / "processed")) == 3, what="processed files")
    original = {d["id"]: d for d in stack.documents()}
    # What an older parser might have produced: a wrong date and a bogus title.
    query(
        stack.database_url,
        "UPDATE documents SET published_on = '1999-01-01', title = 'stale' RETURNING id",
    )
    feed_before = len(query(stack.database_url, "SELECT seq FROM document_feed"))

    dry = ingest_json(stack, "reprocess", "--dry-run")
    assert dry["counts"] == {"files": 3, "updated": 3}
    assert {str(d["published_on"]) for d in stack.documents()} == {"1999-01-01"}

    first = ingest_json(stack, "reprocess")
    assert first["counts"] == {"files": 3, "updated": 3} and first["notes"] == []
    now = {d["id"]: d for d in stack.documents()}
    assert now == original, "back to what the current parser derives, same ids and bodies"
    feed_after = len(query(stack.database_url, "SELECT seq FROM document_feed"))
    assert feed_after == feed_before + 3  # consumers see each refresh once

    second = ingest_json(stack, "reprocess")
    assert second["counts"] == {"files": 3, "unchanged": 3}
    assert len(query(stack.database_url, "SELECT seq FROM document_feed")) == feed_after


def test_rejected_list_release_and_prune(stack: Stack, samples: list[Path]) -> None:
    stack.start()
    stack.drop("news/undated.txt", UNDATED)
    stack.drop(samples[0].name, samples[0].read_bytes())
    stack.wait_finished(2)
    rejected_dir = stack.work / "rejected"
    wait_for(lambda: len(files_in(rejected_dir)) == 1, what="the rejected file")
    assert len(files_in(stack.work / "errors" / "rejected")) == 1  # its sidecar

    [listed] = ingest_json(stack, "rejected")
    assert (listed["name"], listed["reason"]) == ("news/undated.txt", "missing_date")
    kept = Path(listed["path"])
    assert kept.is_file() and "missing_date" in ingest(stack, "rejected").stdout

    # The operator corrects the file where it lies, then releases it by name.
    kept.write_bytes(b"date 2021-05-06 " + UNDATED)
    released = ingest_json(stack, "rejected", "--release", "news/undated.txt")
    assert [r["outcome"] for r in released] == ["released"]
    files = stack.wait_finished(3)
    # A new receipt; the first one stays in the ledger as it was.
    assert [f["status"] for f in files if f["name"] == "news/undated.txt"] == [
        "rejected",
        "stored",
    ]
    assert files_in(rejected_dir) == [] and files_in(stack.work / "errors" / "rejected") == []
    wait_for(lambda: len(files_in(stack.work / "processed")) == 2, what="processed files")

    # Retention: processed files go at once, rejected ones are kept; spool and inbox untouched.
    stack.drop("dated-later.txt", b"date 2021-01-01 " + UNDATED[:10])  # too short: rejected
    wait_for(lambda: len(files_in(rejected_dir)) == 1, what="a rejected file to keep")
    stack.stop()
    spool_file = stack.work / "spool" / "0000000000000001-deadbeef" / "waiting.txt"
    spool_file.parent.mkdir(parents=True)
    spool_file.write_bytes(samples[1].read_bytes())
    inbox_file = stack.drop("not-yet.txt", samples[2].read_bytes())
    old = 0.0  # days: everything already there is older than that
    env = {"INGEST_KEEP_PROCESSED_DAYS": str(old), "INGEST_KEEP_REJECTED_DAYS": "1000"}

    dry = ingest_json(stack, "prune", "--dry-run", **env)
    assert sorted(Path(p["path"]).name for p in dry) == sorted([samples[0].name, "undated.txt"])
    assert len(files_in(stack.work / "processed")) == 2

    pruned = ingest_json(stack, "prune", **env)
    assert len(pruned) == 2 and {p["fate"] for p in pruned} == {"stored"}
    assert files_in(stack.work / "processed") == []
    assert len(files_in(rejected_dir)) == 1
    assert spool_file.is_file() and inbox_file.is_file()
    assert os.path.isdir(stack.work / "processed")
