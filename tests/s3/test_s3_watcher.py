"""The S3 watcher in process against a real SeaweedFS: what it publishes, when, and how often."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.s3.support import Area, article
from tests.support import wait_for
from worker.files.claims import Claim, new_claim_id
from worker.objects.listing import spool_key
from worker.objects.location import Location
from worker.settings import Settings
from worker.watcher.s3 import S3Watcher


class Published:
    """The publish function: records every batch (the broker is not what is tested here)."""

    def __init__(self) -> None:
        self.batches: list[list[Claim]] = []
        self.lock = threading.Lock()

    def __call__(self, batch: list[Claim]) -> None:
        with self.lock:
            self.batches.append(list(batch))

    def claims(self) -> list[Claim]:
        with self.lock:
            return [c for b in self.batches for c in b]

    def names(self) -> Counter[str]:
        return Counter(c.name for c in self.claims())


@contextmanager
def watching(settings: Settings, published: Published) -> Iterator[S3Watcher]:
    watcher = S3Watcher(settings, published)
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop,))
    thread.start()
    try:
        assert watcher.ready.wait(10)
        yield watcher
    finally:
        stop.set()
        thread.join(10)


def fast(area: Area, **values: object) -> Settings:
    return area.settings(poll_interval_s=0.3, batch_linger_ms=5, **values)


def test_new_objects_are_published_once_within_two_seconds(area: Area) -> None:
    area.upload("early.txt", article(0))  # there before the watcher: catch-up
    outside = Location(area.inbox.bucket, f"{area.root}elsewhere/")
    area.upload("outside.txt", article(1), where=outside)
    first, second = Published(), Published()
    with watching(fast(area), first), watching(fast(area), second):
        wait_for(lambda: first.names() == {"early.txt": 1}, 5, 0.05, "the catch-up")
        uploaded = time.monotonic()
        for i in range(20):
            area.upload(f"burst/{i:02d}.txt", article(i))
        for junk in ("x.part", ".hidden.txt", "dir/.DS_Store", "folder/"):
            area.upload(junk, "junk")
        wait_for(lambda: len(first.claims()) == 21, 5, 0.05, "the burst published")
        assert time.monotonic() - uploaded < 2.0
        wait_for(lambda: len(second.claims()) == 21, 5, 0.05, "the second watcher's")
        time.sleep(1.0)  # several more listings: nothing is published again
    assert set(first.names().values()) == {1}
    assert "outside.txt" not in first.names() and "x.part" not in first.names()
    # Two watchers, one claim id per object: the ledger makes each one file.
    assert {c.claim_id for c in first.claims()} == {c.claim_id for c in second.claims()}
    assert all(c.etag is not None for c in first.claims())


def test_back_pressure_holds_new_objects_in_the_inbox(
    area: Area, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="worker.watcher.s3")
    for i in range(5):
        area.upload(f"{i}.txt", article(i))
    published = Published()
    with watching(fast(area, max_queued_files=3), published):
        wait_for(lambda: len(published.claims()) == 3, 5, 0.05, "three published")
        time.sleep(0.8)
        assert len(published.claims()) == 3
        assert "publishing paused: more than max_queued_files (3)" in caplog.text
        for claim in published.claims()[:2]:  # two get their fate and leave the inbox
            area.s3.delete_object(Bucket=area.inbox.bucket, Key=area.inbox.key(claim.name))
        wait_for(lambda: len(published.claims()) == 5, 5, 0.05, "the rest published")
        wait_for(lambda: "publishing resumed" in caplog.text, 5, 0.05, "the resume logged")
    assert sorted(published.names()) == [f"{i}.txt" for i in range(5)]


def test_what_stays_listed_is_published_again(area: Area) -> None:
    area.upload("stuck.txt", article(0))
    [stuck] = area.claims()
    published = Published()
    with watching(fast(area, requeue_after_s=0.5), published):
        wait_for(lambda: len(published.claims()) >= 2, 5, 0.05, "a second publication")
        area.s3.delete_object(Bucket=area.inbox.bucket, Key=area.inbox.key("stuck.txt"))
        time.sleep(0.6)
        count = len(published.claims())
        time.sleep(1.5)  # gone from the listing: not published again
        assert len(published.claims()) == count
    assert {c.claim_id for c in published.claims()} == {stuck.claim_id}


def test_claims_put_back_by_retry_are_published(area: Area) -> None:
    claim_id = new_claim_id()
    spooled = Claim(claim_id, "again.txt", "")
    area.upload(spool_key(spooled), article(0), where=area.files)
    published = Published()
    with watching(fast(area), published):
        wait_for(lambda: published.claims(), 5, 0.05, "the spooled claim")
    [claim] = published.claims()
    assert (claim.claim_id, claim.name, claim.etag) == (claim_id, "again.txt", None)


def test_an_unreachable_store_is_logged_once_and_retried(
    area: Area, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="worker.watcher.s3")
    published = Published()
    with watching(fast(area, s3_endpoint_url="http://127.0.0.1:9"), published):
        time.sleep(1.5)
    assert caplog.text.count("object store unavailable") == 1
    assert published.claims() == []
