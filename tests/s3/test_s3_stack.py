"""The done-when test of the S3 inbox: two watchers and two workers that share no disk.

SeaweedFS, two `ingest watch` and two Celery workers, each process in a folder
and data dir of its own, a few hundred objects (exact copies and bad ones
among them) and objects outside the prefix: every object under the prefix
gets exactly one fate, none leaves the inbox without its outcome copy,
nothing outside the prefix is touched, and a late object is stored within 2 s.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from tests.s3.support import BUCKET, Area, S3Stack, article, md5
from tests.support import query, wait_for
from worker.objects.location import Location

UNIQUE, COPIES, BAD = 240, 30, 30


def bad(i: int) -> tuple[str, bytes]:
    kinds = [
        ("undated.txt", b"An article without its date line, long enough to be judged.\n"),
        ("empty.txt", b""),
        ("binary.bin", bytes(range(256)) * 4),
        ("broken.json", b'{"title": "half a JSON object", "body": '),
        ("short.txt", b"date 2021-01-01 Short.\n"),
    ]
    name, data = kinds[i % len(kinds)]
    return f"bad/{i:02d}-{name}", data


def test_two_watchers_and_two_workers_give_every_object_one_fate(
    s3_stack: S3Stack, area: Area
) -> None:
    outside = {
        Location(BUCKET, f"{area.root}elsewhere/"): "a.txt",
        Location(BUCKET, f"{area.root}inbox-not/"): "b.txt",  # begins like the inbox prefix
        Location(BUCKET, area.root): "inbox",  # a key named like the prefix, without its slash
    }
    untouched = {
        (where, name): area.upload(name, article(7, "outside"), where=where)
        for where, name in outside.items()
    }
    uploads: dict[str, bytes] = {}
    for i in range(UNIQUE):
        uploads[f"batch/{i % 8}/u{i:03d}.txt"] = article(i).encode()
    for i in range(COPIES):
        uploads[f"copies/c{i:02d}.txt"] = article(i * 7).encode()  # the bytes of u{7i}
    uploads.update(bad(i) for i in range(BAD))

    for key in ("watcher-a", "watcher-b"):
        s3_stack.start_watcher(key)
    for key in ("worker-a", "worker-b"):
        s3_stack.start_worker(key)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda item: area.upload(*item), uploads.items()))

    rows = s3_stack.wait_finished(len(uploads), timeout=150)
    names = Counter(r["name"] for r in rows)
    assert set(names) == set(uploads) and set(names.values()) == {1}, names.most_common(3)
    fates = Counter(r["status"] for r in rows)
    assert fates == {"stored": UNIQUE, "duplicate": COPIES, "rejected": BAD}, fates
    assert query(s3_stack.database_url, "SELECT count(*) AS n FROM documents") == [{"n": UNIQUE}]

    s3_stack.wait_inbox_empty()
    kept = area.keys(area.files)
    for row in rows:  # each object's bytes at the outcome path the ledger records
        assert kept.get(row["outcome_path"]) == md5(uploads[row["name"]]), row
        if row["status"] == "rejected":
            assert f"errors/{row['outcome_path']}.error.json" in kept
    assert len(kept) == len(uploads) + BAD  # the copies and the rejections' sidecars
    for (where, name), etag in untouched.items():
        found = area.s3.head_object(Bucket=where.bucket, Key=where.key(name))
        assert found["ETag"].strip('"') == etag

    uploaded = time.monotonic()
    area.upload("late.txt", article(10_000, "late"))
    late = "SELECT status FROM ingest_files WHERE name = 'late.txt'"
    wait_for(lambda: query(s3_stack.database_url, late) == [{"status": "stored"}], 10, 0.02)
    assert time.monotonic() - uploaded < 2.0

    for key in s3_stack.processes:  # nobody made an inbox or files folder of their own
        assert sorted(p.name for p in (s3_stack.root / key).iterdir()) == ["data", "out.log"]
    assert "Traceback" not in "".join(s3_stack.log(k) for k in s3_stack.processes)
