"""The batch pipeline against a real PostgreSQL: fates, idempotency, concurrent twins."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from tests.support import drop_and_claim, query, sidecar_of
from worker.pipeline.batch import process_batch
from worker.settings import Settings


def make_settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(database_url=database_url, inbox=tmp_path / "inbox", db_pool_size=4)


def test_samples_are_stored_with_dates_and_bodies(
    tmp_path: Path, database_url: str, samples: list[Path]
) -> None:
    settings = make_settings(tmp_path, database_url)
    claims = [drop_and_claim(settings, p.name, p.read_bytes()) for p in samples]
    report = process_batch(settings, claims)
    assert sorted(report.fates.values()) == ["stored"] * 3
    docs = query(database_url, "SELECT * FROM documents ORDER BY published_on")
    assert [str(d["published_on"]) for d in docs] == ["2020-11-11", "2021-04-30", "2022-08-09"]
    first = docs[0]["body"]
    assert first.startswith("Chrissy Teigen and John Legend appreciate the “love and support”")
    assert first.endswith("make their voices heard.”")
    assert "\n\nThe 34-year-old model" in first  # paragraph breaks kept
    processed = settings.work_dir / "processed"
    assert sorted(p.name for p in processed.iterdir()) == sorted(p.name for p in samples)
    assert not any(settings.spool_dir.rglob("*.txt"))


def test_exact_duplicate_points_at_the_first_document(
    tmp_path: Path, database_url: str, samples: list[Path]
) -> None:
    settings = make_settings(tmp_path, database_url)
    data = samples[0].read_bytes()
    process_batch(settings, [drop_and_claim(settings, "first.txt", data)])
    # Same article with CRLF line endings and extra spaces: still the same document.
    variant = data.replace(b"\n", b"\r\n").replace(b". ", b".  ")
    report = process_batch(settings, [drop_and_claim(settings, "again/copy.txt", variant)])
    assert list(report.fates.values()) == ["duplicate"]
    files = query(database_url, "SELECT name, status, document_id FROM ingest_files ORDER BY id")
    docs = query(database_url, "SELECT id, file_id FROM documents")
    assert len(docs) == 1
    assert files[1] == {
        "name": "again/copy.txt",
        "status": "duplicate",
        "document_id": docs[0]["id"],
    }
    assert (settings.work_dir / "duplicates" / "again" / "copy.txt").exists()


def test_duplicates_within_one_batch(
    tmp_path: Path, database_url: str, samples: list[Path]
) -> None:
    settings = make_settings(tmp_path, database_url)
    data = samples[1].read_bytes()
    claims = [drop_and_claim(settings, f"copy{i}.txt", data) for i in range(3)]
    report = process_batch(settings, claims)
    assert sorted(report.fates.values()) == ["duplicate", "duplicate", "stored"]
    assert query(database_url, "SELECT count(*) AS n FROM documents")[0]["n"] == 1


def test_rejected_file_gets_reason_detail_and_sidecar(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path, database_url)
    taken = drop_and_claim(settings, "no date.txt", b"Just some words without a header line.\n")
    report = process_batch(settings, [taken])
    assert report.fates == {taken.claim_id: "rejected"}
    row = query(database_url, "SELECT status, reason, detail, document_id FROM ingest_files")[0]
    assert row["status"] == "rejected" and row["reason"] == "missing_date"
    assert row["detail"] and row["document_id"] is None
    rejected = settings.work_dir / "rejected"
    assert (rejected / "no date.txt").exists()
    sidecar = json.loads(sidecar_of(settings.work_dir, rejected / "no date.txt").read_text())
    assert sidecar["reason"] == "missing_date" and sidecar["name"] == "no date.txt"


def test_invalid_date_is_rejected(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path, database_url)
    process_batch(
        settings, [drop_and_claim(settings, "a.txt", b"date 2021-02-30 Some body text here.")]
    )
    assert query(database_url, "SELECT reason FROM ingest_files")[0]["reason"] == "invalid_date"


def test_a_task_that_runs_twice_leaves_the_database_as_once(
    tmp_path: Path, database_url: str, samples: list[Path]
) -> None:
    settings = make_settings(tmp_path, database_url)
    claims = [drop_and_claim(settings, p.name, p.read_bytes()) for p in samples]
    claims.append(drop_and_claim(settings, "bad.txt", b"no header"))
    process_batch(settings, claims)
    before = query(database_url, "SELECT id, status, document_id, attempts FROM ingest_files")
    again = process_batch(settings, claims)  # redelivery after the commit
    assert sorted(again.fates.values()) == ["rejected", "stored", "stored", "stored"]
    after = query(database_url, "SELECT id, status, document_id, attempts FROM ingest_files")
    assert after == before
    assert query(database_url, "SELECT count(*) AS n FROM documents")[0]["n"] == 3


def test_concurrent_twin_tasks_store_each_file_once(
    tmp_path: Path, database_url: str, samples: list[Path]
) -> None:
    settings = make_settings(tmp_path, database_url)
    claims = [
        drop_and_claim(settings, f"{i}-{p.name}", p.read_bytes()) for i in range(5) for p in samples
    ]
    errors: list[BaseException] = []

    def run() -> None:
        try:
            process_batch(settings, claims)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    rows = query(database_url, "SELECT status, count(*) AS n FROM ingest_files GROUP BY status")
    assert {r["status"]: r["n"] for r in rows} == {"stored": 3, "duplicate": 12}
    assert query(database_url, "SELECT count(*) AS n FROM documents")[0]["n"] == 3
    assert not [p for p in settings.spool_dir.rglob("*") if p.is_file()]
