"""Guarantee 1: a worker killed with SIGKILL mid-batch loses nothing and stores nothing twice."""

from __future__ import annotations

import pytest

from tests.faults.conftest import MakeStack
from tests.faults.helpers import assert_exactly_once, drop_many, kill_group
from tests.support import wait_for

pytestmark = pytest.mark.slow


def test_sigkill_mid_batch_then_new_worker(make_stack: MakeStack) -> None:
    # Small batches so several are in flight; a short requeue so the batches the dead
    # worker held unacknowledged come back in seconds, not after the visibility timeout.
    stack = make_stack(INGEST_BATCH_MAX_FILES="20", INGEST_REQUEUE_AFTER_S="3")
    stack.start(worker=False)
    names = drop_many(stack, 300)
    wait_for(lambda: len(stack.spool_files()) == 300, 60, what="all claimed")
    worker = stack.start_process("worker", "worker")
    wait_for(lambda: stack.finished(), 60, interval=0.02, what="a first fate")
    kill_group(worker)  # main process and pool children, no chance to clean up
    del stack.processes["worker"]
    rows = stack.files()
    unfinished = [r for r in rows if r["status"] == "processing"]
    assert len(stack.finished()) < 300, "the kill came too late to hit a batch"
    print(f"at the kill: {len(rows)} registered, {len(unfinished)} mid-batch")

    stack.start_process("worker", "worker")
    stack.wait_finished(300, timeout=120)
    assert_exactly_once(stack, names)
    interrupted = [r for r in stack.files() if r["attempts"] > 1]
    assert {r["name"] for r in unfinished} <= {r["name"] for r in interrupted}
