"""An S3 inbox under faults: the store down for 10 s, a worker or a watcher killed.

Each test has a SeaweedFS of its own (stopped for real, started again on the
same ports and data) and the fault suite's PostgreSQL and Valkey. Every time:
nothing lost, nothing stored twice, and every object at its outcome path.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.faults.conftest import RestartableValkey
from tests.faults.helpers import kill_group
from tests.s3.support import BUCKET, Area, S3Stack, article, assert_exactly_once, trickle
from tests.support import wait_for
from worker.embedded.seaweed import EmbeddedSeaweed

pytestmark = pytest.mark.slow

OUTAGE_S = 10

MakeS3Stack = Callable[..., S3Stack]


@pytest.fixture
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedSeaweed]:
    server = EmbeddedSeaweed(tmp_path_factory.mktemp("fault-seaweed"), buckets=[BUCKET])
    server.start()
    yield server
    server.kill()


@pytest.fixture
def s3_area(store: EmbeddedSeaweed, monkeypatch: pytest.MonkeyPatch) -> Area:
    return Area.entered(store, monkeypatch)


@pytest.fixture
def make_s3_stack(
    s3_area: Area, fault_db: str, valkey_server: RestartableValkey, tmp_path: Path
) -> Iterator[MakeS3Stack]:
    made: list[S3Stack] = []

    def make(**settings: str) -> S3Stack:
        running = S3Stack(tmp_path, s3_area, fault_db, valkey_server.url, **settings)
        made.append(running)
        return running

    yield make
    for running in made:
        running.stop()


def uploads(count: int, tag: str) -> dict[str, bytes]:
    return {f"{tag}{i:04d}.txt": article(i, tag).encode() for i in range(count)}


def finished(stack: S3Stack) -> int:
    return len([r for r in stack.files() if r["status"] != "processing"])


def test_store_down_for_ten_seconds(
    make_s3_stack: MakeS3Stack, s3_area: Area, store: EmbeddedSeaweed
) -> None:
    # Objects whose fate was committed while the store was down wait in the inbox
    # for the sweep: a short requeue brings them back seconds after the outage.
    stack = make_s3_stack(INGEST_BATCH_MAX_FILES="10", INGEST_REQUEUE_AFTER_S="4")
    stack.start_watcher()
    stack.start_worker()
    objects = uploads(60, "o")
    producer = trickle(s3_area, objects, OUTAGE_S + 4)
    wait_for(lambda: finished(stack) >= 15, 60, 0.05, "a run in progress")
    burst = uploads(80, "b")  # claims in the broker and in hand when the store goes
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda item: s3_area.upload(*item), burst.items()))
    wait_for(lambda: any(r["name"] in burst for r in stack.files()), 10, 0.01, "a burst batch")
    store.kill()
    try:
        time.sleep(OUTAGE_S)
    finally:
        store.start()
    producer.join(120)
    stack.wait_finished(len(objects) + len(burst), timeout=120)
    assert_exactly_once(stack, objects | burst)
    assert "object store unavailable" in stack.log("watcher")
    log = stack.log("worker")
    assert "object store unreachable" in log and "retry in" in log, "no batch met the outage"
    assert stack.processes["worker"].poll() is None and stack.processes["watcher"].poll() is None


def test_worker_killed_mid_batch(make_s3_stack: MakeS3Stack, s3_area: Area) -> None:
    stack = make_s3_stack(INGEST_BATCH_MAX_FILES="20", INGEST_REQUEUE_AFTER_S="3")
    objects = uploads(200, "k")
    for name, data in objects.items():
        s3_area.upload(name, data)
    stack.start_watcher()
    worker = stack.start_worker()
    wait_for(lambda: finished(stack), 60, 0.02, "a first fate")
    kill_group(worker)  # main process and pool children, no chance to clean up
    del stack.processes["worker"]
    unfinished = {r["name"] for r in stack.files() if r["status"] == "processing"}
    assert finished(stack) < len(objects), "the kill came too late to hit a batch"

    stack.start_worker("worker-2")
    stack.wait_finished(len(objects), timeout=120)
    rows = assert_exactly_once(stack, objects)
    assert unfinished <= {r["name"] for r in rows if r["attempts"] > 1}


def test_watcher_killed_and_started_again(make_s3_stack: MakeS3Stack, s3_area: Area) -> None:
    stack = make_s3_stack(INGEST_BATCH_MAX_FILES="10")
    stack.start_worker()
    watcher = stack.start_watcher()
    objects = uploads(120, "w")
    producer = trickle(s3_area, objects, 6)
    wait_for(lambda: finished(stack) >= 10, 60, 0.05, "a run in progress")
    kill_group(watcher)
    del stack.processes["watcher"]
    time.sleep(2)  # uploads go on with nobody watching
    stack.start_watcher("watcher-2")
    producer.join(60)
    stack.wait_finished(len(objects), timeout=90)
    assert_exactly_once(stack, objects)
