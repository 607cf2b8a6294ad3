"""Guarantee 7: a poison file (parsing raises or takes forever) never blocks the others.

Both triggers are real inputs, no test hook: an HTML page whose stray `<math>` and
`<img>` before `<html>` trip an assertion inside the HTML extraction libraries, and
a 20 MB HTML page that takes seconds to extract, over a 0.5 s parse_time_limit_s.
"""

from __future__ import annotations

import json

import pytest

from tests.faults.conftest import MakeStack
from tests.faults.helpers import article, fates
from tests.support import wait_for

pytestmark = pytest.mark.slow

RAISES = b"<math><img src=x><html><article><p>" + b"A body that is long enough. " * 5 + b"</p>"
PARAGRAPH = "<p>" + "word " * 200 + "</p>"
SLOW = f"<html><head><title>x</title></head><body>{PARAGRAPH * 20000}</body></html>".encode()


def test_poison_files_fail_alone_and_the_rest_flows(make_stack: MakeStack) -> None:
    stack = make_stack(INGEST_PARSE_TIME_LIMIT_S="0.5", INGEST_MAX_ATTEMPTS="3")
    stack.start(worker=False)
    good = [f"good{i:02d}.txt" for i in range(20)]
    for i, name in enumerate(good[:10]):
        stack.drop(name, article(i, "poison"))
    stack.drop("raises.html", RAISES)
    stack.drop("slow.html", SLOW)
    for i, name in enumerate(good[10:], start=10):
        stack.drop(name, article(i, "poison"))
    wait_for(lambda: len(stack.spool_files()) == 22, 30, what="all claimed")
    stack.start_process("worker", "worker")  # all 22 in one batch, poison in the middle

    stack.wait_finished(22, timeout=120)
    rows = fates(stack)
    assert {rows[n]["status"] for n in good} == {"stored"}
    crashed, slow = rows["raises.html"], rows["slow.html"]
    assert (crashed["status"], crashed["reason"]) == ("failed", "parser_crashed")
    # A summary of the error (which library trips first may change).
    assert crashed["detail"].startswith("Parsing failed 3 times: ") and "Error" in crashed["detail"]
    assert (slow["status"], slow["reason"]) == ("failed", "parse_timeout")
    assert "parse_time_limit_s" in slow["detail"]
    assert crashed["attempts"] == slow["attempts"] == 3  # bounded: max_attempts
    sidecar = json.loads((stack.work / "errors" / "failed" / "raises.html.error.json").read_text())
    assert sidecar["reason"] == "parser_crashed"

    # The worker goes on: same processes, next file.
    assert stack.processes["worker"].poll() is None
    stack.drop("after.txt", article(99, "after poison"))
    stack.wait_finished(23, timeout=30)
    assert fates(stack)["after.txt"]["status"] == "stored"
