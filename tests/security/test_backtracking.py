"""Item 7 (M): no input makes the worker spend long on it, through the real stack.

tests/unit/test_parser_complexity.py proves each parser linear in isolation.
Here hostile inputs go through a real worker with a per-file time limit of one
second and one attempt: any input that took a second or more would fail
`parse_timeout` (or `parser_crashed`), so a fate of any other kind is the
proof that it took well under a second, without a wall-clock assertion.

Found while writing this, no regex involved, and fixed: trafilatura spends
about 20 us per element, so a page of many tiny elements (`<span>x</span> `
repeated: 6.4 MB ~24 s) held a worker for the whole limit on every attempt (now
`too_many_tags` past `max_html_tags`, before extraction); and the MinHash word
hashing made one numpy pass per 8 bytes of the longest word: one 4 MB word cost
~5.6 s (now words past 64 bytes are hashed with BLAKE2b, one call each).
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import pytest

from tests.security.attack import article, open_stack, settings_of, shared_root
from tests.security.conftest import NewServers
from tests.support import Stack, wait_for
from worker.broker.publish import celery_publisher
from worker.files.spool import claim_now, prepare_folders

B = b"The harbour board met on Monday to settle the ferry timetable for the summer season. "

HOSTILE = {
    # The file: 220 bytes of empty HTML comments that no tag follows.
    "issue-comments.html": b"<!---->" * 31 + b"xyz",
    "comments-1mb.txt": b"<!---->" * 150_000 + b"x",
    "comment-runs.html": b"<!-- -->\n" * 100_000,
    "unterminated-comment.html": b"<!--" + b"-" * 1_000_000,
    "angles.txt": b"<" * 1_000_000,
    "doctype-words.txt": b"<!doctype html" + b" x" * 500_000,
    "deep-divs.html": b"<html><body>" + b"<div>" * 100_000 + B * 10,
    "many-attributes.html": b"<html><body><p " + b'a="1" ' * 200_000 + b">" + B + b"</p>",
    "cdata.html": b"<html><body>" + b"<![CDATA[" * 100_000,
    "processing.html": b"<html><body>" + b"<?x " * 200_000,
    "date-words.txt": b"date " * 1_000_000,
    "header-blanks.txt": b"date" + b" \t" * 500_000 + b"2021-05-04 " + B,
    "nested-arrays.json": b"[" * 1_000_000,
    "nested-objects.json": b'{"a":' * 300_000,
    "blank-lines.ndjson": b"\n" * 3_000_000,
    "bracket-prose.txt": b"[" + b"x " * 1_000_000,
    "empty-gzip-members.gz": gzip.compress(b"") * 50_000,
    "long-words.txt": b"date 2021-05-04\n\n" + (b"a" * 4096 + b" ") * 200,
    # Both took seconds to tens of seconds before the fixes in the module's note.
    "many-spans.html": b"<html><body><p>" + b"<span>x</span> " * 400_000 + b"</p></body></html>",
    "one-long-word.txt": b"date 2021-05-04\n\n" + b"a" * 4_000_000,
}


@pytest.fixture(scope="module")
def stack(new_servers: NewServers) -> Iterator[Stack]:
    with shared_root("regex") as root:
        running = open_stack(
            root, *new_servers(), INGEST_PARSE_TIME_LIMIT_S="1", INGEST_MAX_ATTEMPTS="1"
        )
        try:
            yield running
        finally:
            running.stop()


def test_hostile_inputs_get_a_fate_well_under_a_second(stack: Stack) -> None:
    """Item 7: the issue's 220-byte file of empty HTML comments and other inputs built
    to make a parser backtrack or go quadratic, in one batch with good files, under a
    1 s per-file limit and one attempt: none times out or crashes, the good files are
    stored; the page of tiny elements is rejected `too_many_tags`."""
    settings = settings_of(stack)
    prepare_folders(settings)
    good = {"good-1.txt": article("good 1"), "good-2.txt": article("good 2")}
    files = {**HOSTILE, **good}
    claims = []
    for name, content in files.items():
        stack.drop(name, content)
        claims.append(claim_now(settings, name))
    celery_publisher(settings)(claims)
    stack.start()
    wait_for(lambda: len(stack.finished()) == len(files), 60, what="every fate")
    rows = {r["name"]: r for r in stack.files()}
    for name in HOSTILE:
        assert rows[name]["reason"] not in ("parse_timeout", "parser_crashed"), rows[name]
        assert rows[name]["status"] in ("stored", "rejected"), rows[name]
    assert rows["issue-comments.html"]["status"] == "rejected"
    assert {rows["good-1.txt"]["status"], rows["good-2.txt"]["status"]} == {"stored"}
    assert rows["many-spans.html"]["reason"] == "too_many_tags"
    assert {r["attempts"] for r in rows.values()} == {1}
