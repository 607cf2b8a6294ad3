"""Guarantees 2 and 3: PostgreSQL or the broker stopped for ~10 s during a run."""

from __future__ import annotations

import threading
import time

import pytest

from tests.faults.conftest import MakeStack, RestartablePostgres, RestartableValkey
from tests.faults.helpers import article, assert_exactly_once
from tests.support import Stack, wait_for

pytestmark = pytest.mark.slow

OUTAGE_S = 10
FILES = 200


def trickle(stack: Stack, count: int, seconds: float) -> tuple[list[str], threading.Thread]:
    """Files keep arriving before, during and after the outage."""
    names = [f"t{i:04d}.txt" for i in range(count)]

    def run() -> None:
        for i, name in enumerate(names):
            stack.drop(name, article(i, "trickle"))
            time.sleep(seconds / count)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return names, thread


def test_postgres_down_for_ten_seconds(make_stack: MakeStack, pg: RestartablePostgres) -> None:
    stack = make_stack(INGEST_BATCH_MAX_FILES="10").start()
    names, producer = trickle(stack, FILES, OUTAGE_S + 6)
    wait_for(lambda: len(stack.finished()) >= 20, 60, what="a run in progress")
    pg.stop()
    try:
        time.sleep(OUTAGE_S)
    finally:
        pg.start()
    producer.join()
    stack.wait_finished(FILES, timeout=150)
    # The outage is never held against a file: no rejection, no failure, all stored once.
    assert_exactly_once(stack, names)
    log = stack.log("worker")
    assert "database unavailable" in log, "the outage did not hit a batch"
    assert "Retry in" in log or "retry in" in log
    assert stack.processes["worker"].poll() is None


def test_broker_down_for_ten_seconds(
    make_stack: MakeStack, valkey_server: RestartableValkey
) -> None:
    stack = make_stack(INGEST_BATCH_MAX_FILES="10", INGEST_REQUEUE_AFTER_S="20").start()
    names, producer = trickle(stack, FILES, OUTAGE_S + 6)
    wait_for(lambda: len(stack.finished()) >= 20, 60, what="a run in progress")
    valkey_server.stop()
    try:
        time.sleep(OUTAGE_S)
        claimed_meanwhile = len(stack.spool_files())
    finally:
        valkey_server.start()
    producer.join()
    stack.wait_finished(FILES, timeout=150)
    assert_exactly_once(stack, names)
    assert claimed_meanwhile > 0, "the watcher took nothing while the broker was down"
    assert "broker unavailable" in stack.log("watcher")
    # Both processes reconnected by themselves: neither was restarted.
    assert all(p.poll() is None for p in stack.processes.values())
