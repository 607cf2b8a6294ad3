"""Validation rules, derived fields (word count, language) and the reason codes."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest

from worker.fates import Verdict
from worker.parse import language, parse_file
from worker.parse.validate import tidy_body, validate
from worker.reasons import REASONS
from worker.records import Article, Document, ParseOptions

SAMPLES = sorted((Path(__file__).resolve().parents[2] / "samples").glob("*.txt"))

TODAY = date(2024, 6, 15)
OPTIONS = ParseOptions()
BODY = (
    "The minister said on Tuesday that the new rules would apply from spring, "
    "after months of consultation with schools and parents."
)
FRENCH = (
    "Le gouvernement a annoncé mardi que les nouvelles règles entreraient en vigueur "
    "au printemps, après des mois de consultation avec les écoles et les parents."
)


def article(**changes: object) -> Article:
    base = Article(published_on=date(2021, 4, 30), body=BODY, title="Rules", record=3)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def document(result: Document | Verdict) -> Document:
    assert isinstance(result, Document), result
    return result


def rejection(result: Document | Verdict, code: str) -> Verdict:
    assert isinstance(result, Verdict), result
    assert result.reason == code
    assert result.reason in REASONS
    assert result.detail.endswith(".")
    return result


def test_valid_article_becomes_a_document() -> None:
    doc = document(
        validate(article(url=" https://example.com/a ", source="Example"), OPTIONS, TODAY)
    )
    assert doc == Document(
        published_on=date(2021, 4, 30),
        body=BODY,
        title="Rules",
        url="https://example.com/a",
        source="Example",
        word_count=len(BODY.split()),
        language="en",
        record=3,
    )


@pytest.mark.parametrize("path", SAMPLES, ids=lambda path: path.name)
def test_samples_validate(path: Path) -> None:
    (parsed,) = parse_file(path.read_bytes(), path.name, OPTIONS)
    assert isinstance(parsed, Article)
    doc = document(validate(parsed, OPTIONS))
    assert doc.language == "en"
    assert doc.word_count > 300
    assert doc.body == doc.body.strip()
    assert not any(line != line.rstrip() for line in doc.body.split("\n"))
    assert "\n\n" in doc.body


def test_missing_date() -> None:
    result = rejection(validate(article(published_on=None), OPTIONS, TODAY), "missing_date")
    assert result.record == 3
    undated = document(validate(article(published_on=None), ParseOptions(allow_undated=True)))
    assert undated.published_on is None


def test_unreadable_date_kept_as_text_is_invalid() -> None:
    result = validate(article(published_on=None, date_text="2021-02-30"), OPTIONS, TODAY)
    assert "2021-02-30" in rejection(result, "invalid_date").detail


@pytest.mark.parametrize(
    ("published", "ok"),
    [
        (date(1899, 12, 31), False),
        (date(1900, 1, 1), True),
        (date(2024, 6, 16), True),  # time zones: tomorrow somewhere already
        (date(2024, 6, 17), False),
        (date(2999, 1, 1), False),
    ],
)
def test_date_range(published: date, ok: bool) -> None:
    result = validate(article(published_on=published), OPTIONS, TODAY)
    if ok:
        document(result)
    else:
        assert published.isoformat() in rejection(result, "date_out_of_range").detail


def test_body_too_short() -> None:
    result = validate(article(body="  Too short.  \n\n"), OPTIONS, TODAY)
    assert "10 characters" in rejection(result, "body_too_short").detail
    relaxed = ParseOptions(min_body_chars=5)
    assert document(validate(article(body="Short."), relaxed, TODAY)).body == "Short."


def test_body_tidied_paragraphs_kept() -> None:
    messy = "\n\n  First line.   \nstill first.\t\n\n\n\nSecond paragraph. \r\n\r\n\n"
    assert tidy_body(messy) == "First line.\nstill first.\n\nSecond paragraph."
    doc = document(validate(article(body=BODY + "   \n\n\n" + BODY + "\n\n"), OPTIONS, TODAY))
    assert doc.body == f"{BODY}\n\n{BODY}"
    assert doc.word_count == 2 * len(BODY.split())


def test_blank_title_and_source_become_none() -> None:
    doc = document(validate(article(title="  ", source="\n"), OPTIONS, TODAY))
    assert (doc.title, doc.source) == (None, None)
    assert document(validate(article(title=" Two\n words "), OPTIONS, TODAY)).title == "Two words"


def test_language_detection() -> None:
    assert document(validate(article(body=FRENCH), OPTIONS, TODAY)).language == "fr"
    assert language.detect(BODY) == "en"
    assert language.detect("Der schnelle braune Fuchs springt über den faulen Hund.") == "de"
    # Too short, or not language at all: no guess.
    assert language.detect("hello") is None
    assert language.detect("12345 678 90 -- 2021-04-30 12:00 +++ 4711 0815") is None


def test_language_only_reads_the_start() -> None:
    # An English opening decides, however long the (French) rest is.
    assert language.detect(BODY * 5 + FRENCH * 200) == "en"


def test_every_reason_has_meaning_and_action() -> None:
    for code, (meaning, action) in REASONS.items():
        assert code == code.lower() and " " not in code
        assert meaning.endswith(".") and action.endswith("."), code
    for code in [
        "empty_file",
        "not_text",
        "undecodable",
        "unsupported_format",
        "malformed_json",
        "missing_date",
        "invalid_date",
        "date_out_of_range",
        "body_too_short",
        "too_large",
        "corrupt_archive",
        "missing_body",
        "invalid_field",
        "invalid_characters",
        "gibberish",
        "too_many_records",
    ]:
        assert code in REASONS
