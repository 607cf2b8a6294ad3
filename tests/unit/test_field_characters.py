"""Values PostgreSQL text cannot hold (NUL, lone surrogates) are rejected in validation.

JSON escapes are the way in: `\\u0000` and an unpaired `\\ud800` decode to
Python strings that the INSERT would refuse (CharacterNotInRepertoire, or an
encoding error), failing the whole batch. Every format and every stored text
field is checked: title, body, url, source.
"""

from __future__ import annotations

import json
import random
from datetime import date

import pytest

from worker.errors import Rejected
from worker.fates import Verdict
from worker.parse import parse_file
from worker.parse.validate import validate
from worker.reasons import REASONS
from worker.records import Document, ParseOptions

OPTIONS = ParseOptions()
TODAY = date(2024, 1, 1)
BODY = "The harbour board approved the new ferry timetable on Thursday evening."


def judge(raw: bytes, name: str) -> list[Document | Verdict]:
    return [
        item if isinstance(item, Verdict) else validate(item, OPTIONS, TODAY)
        for item in parse_file(raw, name, OPTIONS)
    ]


def invalid(result: Document | Verdict, field: str) -> Verdict:
    assert isinstance(result, Verdict), result
    assert result.reason == "invalid_characters" and result.reason in REASONS
    assert f"field {field!r}" in result.detail, result.detail
    assert result.detail.endswith(".")
    result.detail.encode("utf-8")  # the detail itself is storable
    assert "\x00" not in result.detail
    return result


# JSON text as written in a file: the escapes are six ASCII characters each.
NUL, SURROGATE = "\\u0000", "\\ud800"


def article_json(**fields: str) -> bytes:
    parts = {"date": '"2021-05-04"', "body": json.dumps(BODY), **fields}
    return ("{" + ", ".join(f'"{key}": {value}' for key, value in parts.items()) + "}").encode()


@pytest.mark.parametrize(
    ("key", "field"),
    [
        ("title", "title"),
        ("headline", "title"),
        ("body", "body"),
        ("url", "url"),
        ("source", "source"),
    ],
)
@pytest.mark.parametrize(("escape", "what"), [(NUL, "NUL"), (SURROGATE, "surrogate")])
def test_json_field_with_a_bad_character_is_rejected(
    key: str, field: str, escape: str, what: str
) -> None:
    value = f'"Harbour {escape} news, long enough to be a body on its own"'
    (result,) = judge(article_json(**{key: value}), "a.json")
    detail = invalid(result, field).detail
    assert what in detail and "character 9" in detail


def test_nested_source_name_and_body_list_are_checked() -> None:
    (result,) = judge(article_json(source=f'{{"id": "x", "name": "The {NUL} Gazette"}}'), "a.json")
    invalid(result, "source")
    (result,) = judge(
        article_json(body=f'["First paragraph.", "Second {SURROGATE} one."]'), "a.json"
    )
    invalid(result, "body")


def test_ndjson_records_are_judged_one_by_one() -> None:
    lines = [
        article_json(),
        article_json(title=f'"Nul {NUL} title"'),
        article_json(url=f'"https://example.org/{SURROGATE}"'),
        article_json(title='"A paired surrogate is fine: \\ud83d\\ude00"'),
    ]
    results = judge(b"\n".join(lines), "feed.ndjson")
    assert isinstance(results[0], Document)
    assert invalid(results[1], "title").record == 2
    assert invalid(results[2], "url").record == 3
    assert isinstance(results[3], Document) and results[3].title is not None
    assert results[3].title.endswith("\U0001f600")


def test_html_character_references_come_out_storable() -> None:
    page = (
        '<html><head><meta property="article:published_time" content="2023-05-14">'
        "<title>Tit&#0;le &#xD800;</title></head><body><article><p>For the first time in "
        "forty years &#0; two keepers &#xD800; will live at the lighthouse this summer, the "
        "trust said.</p></article></body></html>"
    )
    (result,) = judge(page.encode(), "page.html")
    assert isinstance(result, Document), result  # lxml turns both into U+FFFD
    for value in (result.title, result.body):
        assert value is not None and "\x00" not in value
        value.encode("utf-8")


# Whatever the validator lets through must be storable: a seeded fuzz over JSON strings
# built from characters that are hard for a database or an encoder.
HARD = [
    "\\u0000",
    "\\ud800",
    "\\udfff",
    "\\udbff\\udfff",  # a valid pair: U+10FFFF
    "\\ud83d\\ude00",  # a valid pair: an emoji
    "\\ude00\\ud83d",  # the pair reversed: two lone surrogates
    "\\u0001",
    "\\u001f",
    "\\u007f",
    "\\u0085",
    "\\u2028",
    "\\ufeff",
    "\\uffff",
    "\\ufffe",
    "\\u0301",  # a combining mark (raw, decode's NFC would merge it into an escape)
    "é",
    "\\\\",
    '\\"',
    "x",
    " ",
]


def fuzz_value(rng: random.Random) -> str:
    return "".join(rng.choice(HARD) for _ in range(rng.randint(1, 4)))


def test_validated_values_are_always_storable() -> None:
    rng = random.Random(20240501)
    outcomes = {"stored": 0, "invalid_characters": 0}
    for _ in range(400):
        fields = {
            key: f'"{fuzz_value(rng)}"' for key in ("title", "url", "source") if rng.random() < 0.7
        }
        body = f'"{BODY} {fuzz_value(rng)}"' if rng.random() < 0.7 else json.dumps(BODY)
        raw = article_json(**fields, body=body)
        try:
            results = judge(raw, "a.json")
        except Rejected as exc:  # whole-file problems are not this test's concern
            pytest.fail(f"{raw!r}: {exc}")
        for result in results:
            if isinstance(result, Verdict):
                assert result.reason == "invalid_characters", result
                outcomes["invalid_characters"] += 1
                continue
            outcomes["stored"] += 1
            for value in (result.title, result.body, result.url, result.source):
                if value is not None:
                    value.encode("utf-8")  # raises on a lone surrogate
                    assert "\x00" not in value
    assert outcomes["stored"] > 40 and outcomes["invalid_characters"] > 40, outcomes
