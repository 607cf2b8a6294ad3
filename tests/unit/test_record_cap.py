"""max_records_per_file: a multi-record file over the cap is rejected whole, cheaply."""

from __future__ import annotations

import gzip
import json

import pytest

from worker.errors import Rejected
from worker.fates import Verdict
from worker.parse import ndjson, parse_file
from worker.reasons import REASONS
from worker.records import Article, ParseOptions

CAP = ParseOptions(max_records_per_file=5)


def record(i: int) -> bytes:
    return json.dumps({"date": "2021-05-04", "body": f"Record number {i} of the feed."}).encode()


def feed(count: int, separator: bytes = b"\n") -> bytes:
    return separator.join(record(i) for i in range(1, count + 1)) + separator


def test_default_cap_is_ten_thousand() -> None:
    assert ParseOptions().max_records_per_file == 10_000


def test_a_file_at_the_cap_is_parsed() -> None:
    results = parse_file(feed(5), "feed.ndjson", CAP)
    assert [r.record for r in results] == [1, 2, 3, 4, 5]
    assert all(isinstance(r, Article) for r in results)


@pytest.mark.parametrize("name", ["feed.ndjson", "feed.jsonl", "feed", "feed.ndjson.gz"])
def test_one_record_over_the_cap_rejects_the_whole_file(name: str) -> None:
    raw = feed(6)
    if name.endswith(".gz"):
        raw = gzip.compress(raw)
    with pytest.raises(Rejected) as info:
        parse_file(raw, name, CAP)
    assert info.value.reason == "too_many_records" and info.value.reason in REASONS
    detail = info.value.detail
    assert "more than 5 records" in detail and "record 6, on line 6" in detail
    assert "max_records_per_file (5)" in detail and detail.endswith(".")


def test_blank_lines_do_not_count_and_line_numbers_stay_right() -> None:
    raw = b"\r\n\r\n" + feed(5, b"\r\n\r\n   \r\n")
    results = parse_file(raw, "feed.ndjson", CAP)
    assert len(results) == 5
    bad = b"\n\n" + record(1) + b"\n \t\n{not json\n"
    first, second = parse_file(bad, "feed.ndjson", CAP)
    assert isinstance(first, Article) and first.record == 1
    assert isinstance(second, Verdict) and second.record == 2
    assert "line 5" in second.detail
    with pytest.raises(Rejected) as info:
        parse_file(b"\n" * 10 + feed(6, b"\n\n"), "feed.ndjson", CAP)
    assert "on line 21" in info.value.detail  # 10 blank lines, then a record every 2


def test_zero_means_no_cap() -> None:
    results = parse_file(feed(50), "feed.ndjson", ParseOptions(max_records_per_file=0))
    assert len(results) == 50


def test_nothing_is_parsed_once_the_cap_is_passed(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[str] = []
    real_loads = json.loads

    def counting_loads(text: str) -> object:
        parsed.append(text)
        return real_loads(text)

    monkeypatch.setattr(ndjson.json, "loads", counting_loads)
    with pytest.raises(Rejected):
        ndjson.parse(feed(1_000).decode(), CAP)
    assert parsed == []
