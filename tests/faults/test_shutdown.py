"""Guarantee 9: SIGTERM to a worker finishes or returns its current batch; SIGTERM to
the watcher leaves no claimed file without a queued task or a recorded fate.

SIGTERM goes to the main process only, as `docker stop` and systemd's KillMode=mixed
send it (a signal to every process of the group would kill Celery's pool children).
"""

from __future__ import annotations

import signal

import pytest

from tests.faults.conftest import MakeStack, RestartableValkey
from tests.faults.helpers import assert_exactly_once, drop_many, queued_claims, spool_claim_ids
from tests.support import wait_for

pytestmark = pytest.mark.slow


def test_sigterm_to_worker_mid_batch(
    make_stack: MakeStack, valkey_server: RestartableValkey
) -> None:
    # requeue_after_s stays 300: whatever comes back here, the worker gave back itself.
    stack = make_stack(INGEST_BATCH_MAX_FILES="20")
    stack.start(worker=False)
    names = drop_many(stack, 200)
    wait_for(lambda: len(stack.spool_files()) == 200, 60, what="all claimed")
    worker = stack.start_process("worker", "worker")
    wait_for(lambda: stack.finished(), 60, interval=0.02, what="a first fate")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=90) == 0
    del stack.processes["worker"]

    rows = stack.files()
    assert 0 < len(stack.finished()) < 200, "the signal came too late to hit a batch"
    assert [r["name"] for r in rows if r["status"] == "processing"] == [], "batch abandoned"
    waiting = spool_claim_ids(stack)
    assert waiting <= set(queued_claims(valkey_server.client())), "a batch was not returned"
    assert not valkey_server.client().hlen("unacked")

    stack.start_process("worker", "worker")
    stack.wait_finished(200, timeout=90)
    assert_exactly_once(stack, names)


def test_sigterm_to_watcher_with_claims_pending(
    make_stack: MakeStack, valkey_server: RestartableValkey
) -> None:
    # A long linger keeps claims in the watcher's memory, not yet published, at the signal.
    stack = make_stack(INGEST_BATCH_LINGER_MS="3000", INGEST_BATCH_MAX_FILES="500")
    watcher = stack.start_process("watcher", "watch")
    names = drop_many(stack, 300)
    wait_for(lambda: stack.spool_files(), 30, interval=0.02, what="a first claim")
    watcher.send_signal(signal.SIGTERM)
    assert watcher.wait(timeout=30) == 0
    del stack.processes["watcher"]

    claimed = spool_claim_ids(stack)
    queued = queued_claims(valkey_server.client())
    assert claimed, "nothing was claimed"
    assert claimed <= set(queued), "a claimed file has no queued task"
    left = [
        p for p in stack.inbox.rglob("*.txt") if ".ingest" not in p.relative_to(stack.inbox).parts
    ]
    assert len(left) + len(claimed) == 300

    stack.start()
    stack.wait_finished(300, timeout=90)
    assert_exactly_once(stack, names)
