"""The spool sweep: claims without a fate are published again, without flooding the queue."""

from __future__ import annotations

import math
import time

import pytest

from tests.faults.conftest import MakeStack, RestartableValkey
from tests.faults.helpers import assert_exactly_once, drop_many, queued_claims
from tests.support import wait_for

pytestmark = pytest.mark.slow


def test_lost_queue_is_republished_with_backoff(
    make_stack: MakeStack, valkey_server: RestartableValkey
) -> None:
    stack = make_stack(INGEST_REQUEUE_AFTER_S="1", INGEST_BATCH_MAX_FILES="10")
    stack.start(worker=False)
    names = drop_many(stack, 50)
    wait_for(lambda: len(queued_claims(valkey_server.client())) == 50, 30, what="50 published")
    start = time.monotonic()
    time.sleep(8)
    waited = time.monotonic() - start + 1  # + up to 1 s between publishing and the check
    published = queued_claims(valkey_server.client())
    # Back-off 1, 2, 4, ... s per claim: at most 1 + log2(waited + 1) publications each.
    bound = 1 + math.floor(math.log2(waited + 1))
    print(f"publications per claim after {waited:.0f}s: {sorted(set(published.values()))}")
    assert min(published.values()) >= 2, "the sweep re-published nothing"
    assert max(published.values()) <= bound

    # The broker loses its queue: the sweep is the only way back.
    valkey_server.client().delete("ingest")
    stack.start_process("worker", "worker")
    stack.wait_finished(50, timeout=60)
    assert_exactly_once(stack, names)
