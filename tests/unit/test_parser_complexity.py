"""No parser is super-linear: hostile inputs of growing size cost time in proportion.

Each case builds one adversarial input at n, 2n, 4n and 8n units and times the
whole content path on it (parse_file, then validate on every record; or decode
alone), best of three. Linear work takes about 8 times as long at 8n as at n;
quadratic work takes 64 times, exponential never ends. The bound is 20 times
plus a small absolute floor, so timer noise on small inputs cannot fail it, and
a case that fails is measured once more before it counts (the machine is shared).

Sizes are picked so that n costs a few milliseconds: the whole file runs in a
few seconds.
"""

from __future__ import annotations

import gc
import gzip
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from worker.errors import Rejected
from worker.parse import parse_file
from worker.parse.decode import decode
from worker.parse.validate import validate
from worker.records import Article, ParseOptions

# Exponential backtracking (the old HTML comment regex) never finishes: fail fast instead.
pytestmark = pytest.mark.timeout(60)

GROWTH = 20.0  # allowed time(8n) / time(n): linear is 8, quadratic 64
FLOOR_S = 0.004  # absolute slack for timer noise and fixed costs
# Every path taken to the end: undated text is parsed and validated, no record cap
# stops the NDJSON early (a case below checks the cap on its own), no size limit.
OPTIONS = ParseOptions(
    allow_undated=True,
    max_records_per_file=0,
    max_file_bytes=1 << 30,
    max_decompressed_bytes=1 << 30,
)

HEADER = b"date 2021-05-04\n"
BODY = b"The harbour board met on Monday to settle the ferry timetable for the summer.\n"
RECORD = json.dumps({"date": "2021-05-04", "body": BODY.decode().strip()}).encode() + b"\n"
PAGE = (
    b'<html><head><meta property="article:published_time" content="2023-05-14">'
    b"<title>Lighthouse</title></head><body><article><p>" + BODY + b"</p></article></body></html>"
)


@dataclass(frozen=True, slots=True)
class Case:
    name: str  # the file name (its suffix is a format hint); "decode-..." for decode alone
    build: Callable[[int], bytes]
    n: int  # units at the smallest size


CASES = [
    # -- dated text and plain text ---------------------------------------------------
    Case("date-repeated.txt", lambda n: b"date " * n, 20_000),
    Case("header-blanks.txt", lambda n: b"date" + b" \t" * n + b"2021-05-04 " + BODY, 40_000),
    Case("date-token.txt", lambda n: b"date 2021-05-04T" + b"1" * n + b"x " + BODY, 80_000),
    Case("blank-lines.txt", lambda n: HEADER + b"\n" * n + BODY, 80_000),
    Case("carriage-returns.txt", lambda n: HEADER + b"\r" * n + BODY, 80_000),
    Case("crlf-lines.txt", lambda n: HEADER + b"word \t\r\n" * n, 10_000),
    Case("long-line.txt", lambda n: HEADER + b"a" * n, 80_000),
    Case("space-run.txt", lambda n: HEADER + b"x" + b" " * n + BODY, 80_000),
    Case("leading-space.txt", lambda n: b" \n\t" * n + HEADER + BODY, 30_000),
    Case("words.txt", lambda n: b"word " * n, 20_000),
    Case("bracket-prose.txt", lambda n: b"[" + b"x " * n, 20_000),
    Case("xml-ish.txt", lambda n: b"<?xml" + b" a" * n, 20_000),
    # -- JSON --------------------------------------------------------------------------
    Case("nested-arrays.json", lambda n: b"[" * n, 40_000),
    Case("nested-objects.json", lambda n: b'{"a":' * n, 20_000),
    Case("long-body.json", lambda n: b'{"date":"2021-05-04","body":"' + b"ab " * n + b'"}', 20_000),
    Case(
        "escapes.json", lambda n: b'{"date":"2021-05-04","body":"' + b"\\u00e9" * n + b'"}', 20_000
    ),
    Case(
        "nul-escapes.json",
        lambda n: b'{"date":"2021-05-04","body":"' + b"\\u0000" * n + b'"}',
        20_000,
    ),
    Case(
        "surrogates.json",
        lambda n: b'{"date":"2021-05-04","body":"' + b"\\ud800" * n + b'"}',
        20_000,
    ),
    Case("whitespace.json", lambda n: b"{" + b" " * n + b"}", 80_000),
    Case("many-keys.json", lambda n: b"{" + b'"k":1,' * n + b'"body":"x"}', 20_000),
    # -- NDJSON ------------------------------------------------------------------------
    Case("records.ndjson", lambda n: RECORD * n, 250),
    Case("blank-lines.ndjson", lambda n: b"\n" * n + RECORD, 80_000),
    Case("bad-lines.ndjson", lambda n: b"[[[[[[[[\n" * n, 2_000),
    Case("unterminated.ndjson", lambda n: b'{"body":"' + b"x" * n, 80_000),
    Case("empty-objects", lambda n: b"{}\n" * n, 2_000),  # NDJSON found by content
    # -- HTML --------------------------------------------------------------------------
    Case("empty-comments.txt", lambda n: b"<!---->" * n + b"x", 5_000),
    Case("empty-comments.html", lambda n: b"<!---->" * n + b"<p>x", 2_000),
    Case("comments-then-page.html", lambda n: b"<!-- c -->\n" * n + PAGE, 2_000),
    Case("nested-tags.html", lambda n: b"<p>" * n + BODY, 100),
    Case("paragraphs.html", lambda n: b"<html><body>" + b"<p>Some words.</p>\n" * n, 100),
    Case("open-brackets.html", lambda n: b"<" * n, 10_000),
    Case("attributes.html", lambda n: b"<html><body><p " + b'a="1" ' * n + b">" + BODY, 2_000),
    Case("entities.html", lambda n: b"<html><body><p>" + b"&amp;" * n + b"</p>", 2_000),
    # -- gzip --------------------------------------------------------------------------
    Case("empty-members.txt.gz", lambda n: gzip.compress(HEADER + BODY) + _EMPTY_GZ * n, 6_000),
    Case("compressed.txt.gz", lambda n: gzip.compress(HEADER + b"word " * n), 20_000),
    Case("zero-padding.txt.gz", lambda n: gzip.compress(HEADER + BODY) + b"\x00" * n, 80_000),
    # -- decode alone ------------------------------------------------------------------
    Case("decode-latin1", lambda n: "Café crème brûlée. ".encode("latin-1") * n, 1_000),
    Case("decode-cp1251", lambda n: "Привет, мир. ".encode("cp1251") * n, 1_000),
    Case("decode-shift-jis", lambda n: "日本語のテキストです。".encode("shift_jis") * n, 1_000),
    Case("decode-utf16-no-bom", lambda n: "hello world ".encode("utf-16-le") * n, 5_000),
    Case("decode-vertical-tabs", lambda n: b"a\x0b" * n, 20_000),
    Case("decode-carriage-returns", lambda n: b"\r" * n, 40_000),
    Case("decode-invalid-utf8-tail", lambda n: b"word " * n + b"\xff", 2_000),
    Case("decode-high-bytes", lambda n: bytes(range(0x80, 0x100)) * n, 200),
]

_EMPTY_GZ = gzip.compress(b"")


def _run(case: Case, raw: bytes) -> None:
    try:
        if case.name.startswith("decode-"):
            decode(raw)
            return
        for item in parse_file(raw, case.name, OPTIONS):
            if isinstance(item, Article):
                validate(item, OPTIONS)
    except Rejected:
        pass  # a rejection is a fine outcome; only the time it took matters


def _best_of_three(case: Case, raw: bytes) -> float:
    best = float("inf")
    for _ in range(3):
        gc.disable()  # a collection pass is not the parser's cost (and collect() is slow)
        try:
            start = time.perf_counter()
            _run(case, raw)
            best = min(best, time.perf_counter() - start)
        finally:
            gc.enable()
    return best


def _growth(case: Case) -> tuple[float, float]:
    small = _best_of_three(case, case.build(case.n))
    for factor in (2, 4):  # the middle sizes: warm caches, and a view of the trend
        _best_of_three(case, case.build(case.n * factor))
    return small, _best_of_three(case, case.build(case.n * 8))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_time_grows_linearly(case: Case) -> None:
    small, large = _growth(case)
    if large > GROWTH * small + FLOOR_S:
        small, large = _growth(case)  # once more: a busy neighbour, not our code?
    assert large <= GROWTH * small + FLOOR_S, (
        f"{case.name}: {small * 1000:.2f} ms at n, {large * 1000:.2f} ms at 8n "
        f"(x{large / small:.1f}; linear is x8)"
    )


def test_the_record_cap_bounds_the_cost() -> None:
    # Past the cap nothing more is parsed: a file 8 times longer costs about the same.
    capped = ParseOptions(max_records_per_file=1_000)

    def run(records: int) -> float:
        raw = RECORD * records
        start = time.perf_counter()
        with pytest.raises(Rejected) as info:
            parse_file(raw, "feed.ndjson", capped)
        assert info.value.reason == "too_many_records"
        return time.perf_counter() - start

    run(2_000)  # warm up
    small = min(run(2_000) for _ in range(3))
    large = min(run(16_000) for _ in range(3))
    assert large <= 3 * small + FLOOR_S, (small, large)
