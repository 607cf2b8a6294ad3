"""Back-pressure on a folder inbox: a burst never puts more than max_queued_files claims
in flight, and every file still gets its fate once workers make room.

A thousand files renamed into the inbox at once, with a limit of 50 and no worker:
the spool (claims waiting for a fate, in the broker or a worker's hands) stops at
50, the rest waits in the inbox, and the watcher says it paused. Then a worker
starts, and all of them are stored.
"""

from __future__ import annotations

import os
import time

from tests.faults.helpers import article
from tests.support import Stack, wait_for

BURST, LIMIT = 1000, 50


def test_a_burst_is_claimed_no_further_than_the_limit(stack: Stack) -> None:
    stack.env["INGEST_MAX_QUEUED_FILES"] = str(LIMIT)
    stage = stack.root / "stage"
    stage.mkdir()
    for i in range(BURST):
        (stage / f"b{i:04d}.txt").write_text(article(i, "burst"))
    stack.start(worker=False)
    time.sleep(2)  # the watcher is up, with its first look done
    for i in range(BURST):
        os.rename(stage / f"b{i:04d}.txt", stack.inbox / f"b{i:04d}.txt")
    wait_for(lambda: len(stack.spool_files()) >= LIMIT, 30, what="claims up to the limit")
    peak = 0
    deadline = time.monotonic() + 5  # settle_ms and a few holdback checks
    while time.monotonic() < deadline:
        peak = max(peak, len(stack.spool_files()))
        time.sleep(0.1)
    assert peak == LIMIT, f"{peak} claims in flight with max_queued_files {LIMIT}"
    waiting = [p for p in stack.inbox.iterdir() if p.is_file()]
    assert len(waiting) == BURST - LIMIT
    assert "claiming paused" in stack.log("watcher")

    stack.start_process("worker", "worker")
    rows = stack.wait_finished(BURST, timeout=120)
    assert {r["status"] for r in rows} == {"stored"}
    assert not stack.spool_files()
