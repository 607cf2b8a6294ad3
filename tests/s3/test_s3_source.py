"""The pipeline on an S3 inbox, in process, against a real SeaweedFS: fates, claims, deletes."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from tests.s3.support import Area, article, md5
from tests.support import query
from worker.errors import Rejected, TransientError
from worker.files.claims import Claim
from worker.objects.listing import claim_id
from worker.objects.source import S3Source
from worker.objects.store import CLAIM_META
from worker.pipeline.batch import process_batch
from worker.settings import Settings


def settings_for(area: Area, database_url: str, **values: object) -> Settings:
    return area.settings(database_url=database_url, db_pool_size=4, **values)


def test_objects_get_their_fates_copies_and_sidecars(
    area: Area, database_url: str, samples: list[Path]
) -> None:
    settings = settings_for(area, database_url)
    uploaded = {p.name: area.upload(p.name, p.read_bytes()) for p in samples}
    first = area.claims()
    assert len(first) == 3 and all(c.etag == uploaded[c.name] for c in first)
    assert set(process_batch(settings, first).fates.values()) == {"stored"}
    uploaded["again/copy.txt"] = area.upload("again/copy.txt", samples[0].read_bytes())
    uploaded["undated.txt"] = area.upload("undated.txt", "An article without a date line at all.")
    claims = area.claims()

    report = process_batch(settings, claims)

    by_name = {c.name: report.fates[c.claim_id] for c in claims}
    assert by_name == {"again/copy.txt": "duplicate", "undated.txt": "rejected"}
    assert area.keys(area.inbox) == {}
    kept = area.keys(area.files)
    expected = {
        **{f"processed/{p.name}": uploaded[p.name] for p in samples},
        "duplicates/again/copy.txt": uploaded["again/copy.txt"],
        "rejected/undated.txt": uploaded["undated.txt"],
    }
    assert {k: v for k, v in kept.items() if not k.startswith("errors/")} == expected
    sidecar = json.loads(area.read(area.files, "errors/rejected/undated.txt.error.json"))
    assert sidecar["reason"] == "missing_date" and sidecar["outcome_path"] == "rejected/undated.txt"
    assert [k for k in kept if k.startswith("errors/")] == [
        "errors/rejected/undated.txt.error.json"
    ]
    rows = query(database_url, "SELECT name, outcome_path, received_at FROM ingest_files")
    assert {r["name"]: r["outcome_path"] for r in rows} == {k.split("/", 1)[1]: k for k in expected}
    head = area.s3.head_object(Bucket=area.files.bucket, Key=area.files.key("rejected/undated.txt"))
    undated = next(c for c in claims if c.name == "undated.txt")
    assert head["Metadata"][CLAIM_META] == undated.claim_id


def test_claim_ids_are_one_per_upload_whoever_lists(area: Area) -> None:
    etag = area.upload("a.txt", article(1))
    first, again = area.claims(), area.claims()
    assert first == again  # two watchers publish the same claim id
    [claim] = first
    stamp = int(claim.claim_id.split("-")[0], 16)
    assert claim.claim_id == claim_id(area.inbox.bucket, area.inbox.key("a.txt"), etag, stamp)
    assert Claim.from_json(claim.to_json()) == claim

    area.upload("a.txt", article(2))  # another object under the same key
    [changed] = area.claims()
    assert changed.claim_id != claim.claim_id and changed.etag != etag
    time.sleep(1.1)  # LastModified has whole seconds
    area.upload("a.txt", article(2))  # the same bytes uploaded again, later
    [later] = area.claims()
    assert later.etag == changed.etag and later.claim_id > changed.claim_id


def test_object_replaced_before_its_read_is_not_taken_for_the_claim(
    area: Area, database_url: str
) -> None:
    settings = settings_for(area, database_url)
    area.upload("x.txt", article(1, "old"))
    [old] = area.claims()
    new_etag = area.upload("x.txt", article(1, "new"))
    [new] = area.claims()

    assert process_batch(settings, [old]).fates == {old.claim_id: "failed"}
    [row] = query(database_url, "SELECT reason, outcome_path FROM ingest_files")
    assert row == {"reason": "file_vanished", "outcome_path": None}
    assert area.keys(area.inbox) == {"x.txt": new_etag}  # the new upload is untouched

    assert process_batch(settings, [new]).fates == {new.claim_id: "stored"}
    assert area.keys(area.inbox) == {}
    assert area.read(area.files, "processed/x.txt") == article(1, "new").encode()


def test_identical_upload_after_the_claim_is_left_for_its_own_claim(
    area: Area, database_url: str
) -> None:
    settings = settings_for(area, database_url)
    data = article(3)
    area.upload("same.txt", data)
    [first] = area.claims()
    time.sleep(1.1)
    area.upload("same.txt", data)  # same ETag, uploaded later: another object
    [second] = area.claims()
    assert second.claim_id != first.claim_id

    assert process_batch(settings, [first]).fates == {first.claim_id: "stored"}
    assert list(area.keys(area.inbox)) == ["same.txt"]  # copied, not deleted
    assert process_batch(settings, [second]).fates == {second.claim_id: "duplicate"}
    assert area.keys(area.inbox) == {}
    assert set(area.keys(area.files)) == {"processed/same.txt", "duplicates/same.txt"}


def test_an_outcome_copy_never_replaces_an_object(area: Area, database_url: str) -> None:
    settings = settings_for(area, database_url)
    squatter = area.upload("processed/a.txt", b"someone else's object", where=area.files)
    etag = area.upload("a.txt", article(4))
    [claim] = area.claims()

    assert process_batch(settings, [claim]).fates == {claim.claim_id: "stored"}
    alternate = f"processed/a.txt.{claim.claim_id}"
    assert area.keys(area.files) == {"processed/a.txt": squatter, alternate: etag}
    [row] = query(database_url, "SELECT outcome_path FROM ingest_files")
    assert row["outcome_path"] == alternate


def test_size_limit_applies_before_the_body_is_read(area: Area, database_url: str) -> None:
    settings = settings_for(area, database_url, max_file_bytes=100)
    area.upload("big.txt", "date 2021-01-01 " + "word " * 100)
    [claim] = area.claims()
    assert process_batch(settings, [claim]).fates == {claim.claim_id: "rejected"}
    [row] = query(database_url, "SELECT reason, detail FROM ingest_files")
    assert row["reason"] == "too_large" and "limit is 100 bytes" in row["detail"]
    assert "rejected/big.txt" in area.keys(area.files)


def test_the_same_claims_twice_and_at_once_make_one_file_each(
    area: Area, database_url: str
) -> None:
    settings = settings_for(area, database_url)
    etags = {f"n{i}.txt": area.upload(f"n{i}.txt", article(i)) for i in range(12)}
    claims = area.claims()
    reports = []
    twins = [
        threading.Thread(target=lambda: reports.append(process_batch(settings, claims)))
        for _ in range(2)
    ]
    for t in twins:
        t.start()
    for t in twins:
        t.join()
    again = process_batch(settings, claims)  # everything moved already
    assert set(again.fates.values()) == {"stored"}
    rows = query(database_url, "SELECT name, status FROM ingest_files")
    assert sorted(r["name"] for r in rows) == sorted(etags)
    assert {r["status"] for r in rows} == {"stored"}
    assert area.keys(area.files) == {f"processed/{n}": e for n, e in etags.items()}
    assert query(database_url, "SELECT count(*) AS n FROM documents") == [{"n": 12}]


def test_an_unreachable_store_is_transient_and_judges_nothing(
    area: Area, database_url: str
) -> None:
    area.upload("a.txt", article(5))
    claims = area.claims()
    down = area.settings(database_url=database_url, s3_endpoint_url="http://127.0.0.1:9")
    with pytest.raises(TransientError):
        process_batch(down, claims)
    [row] = query(database_url, "SELECT status FROM ingest_files")
    assert row["status"] == "processing"
    report = process_batch(settings_for(area, database_url), claims, count_attempts=False)
    assert report.fates == {claims[0].claim_id: "stored"}


def test_a_pending_sidecar_is_put_in_place_at_a_workers_start(
    area: Area, database_url: str
) -> None:
    settings = settings_for(area, database_url)
    area.upload("bad.txt", "Too short, no date.")
    [claim] = area.claims()
    source = S3Source(settings)
    # As if a worker died after the copy, before the sidecar moved: the pending one is left.
    area.upload(
        "errors/.pending/x.json", json.dumps({"outcome_path": "rejected/bad.txt"}), where=area.files
    )
    area.upload("rejected/bad.txt", "Too short, no date.", where=area.files)
    assert source.place_pending() == 1
    assert set(area.keys(area.files)) == {
        "rejected/bad.txt",
        "errors/rejected/bad.txt.error.json",
    }
    assert claim.etag == md5(b"Too short, no date.")


def test_reads_ahead_in_order_with_each_reads_own_outcome(area: Area, database_url: str) -> None:
    settings = settings_for(area, database_url, max_file_bytes=1000)
    data = {f"r{i:02d}.txt": article(i).encode() for i in range(20)}
    for name, body in data.items():
        area.upload(name, body)
    area.upload("r99-big.txt", b"x" * 2000)
    claims = area.claims()
    area.upload("r05.txt", b"replaced after the claim")
    source = S3Source(settings)
    try:
        source.prefetch(claims, settings.max_file_bytes)
        for claim in claims:
            if claim.name == "r05.txt":
                with pytest.raises(FileNotFoundError):
                    source.read(claim, settings.max_file_bytes)
            elif claim.name == "r99-big.txt":
                with pytest.raises(Rejected, match="2000 bytes"):
                    source.read(claim, settings.max_file_bytes)
            else:
                assert source.read(claim, settings.max_file_bytes).raw == data[claim.name]
        # Asked again after the read-ahead, a claim is read anew. (The first ordinary one:
        # uploads in the same second list in claim-id order, the big or replaced one first.)
        again = next(c for c in claims if c.name in data and c.name != "r05.txt")
        assert source.read(again, settings.max_file_bytes).raw == data[again.name]
    finally:
        source.close()
