"""Rules that turn a parsed record into a storable document or a rejection.

Parsers extract; this module judges: every text field storable, date present and
plausible, body long enough and made of words. It also fills the derived fields
(word count, language).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, timedelta

from worker.dedupe.normalise import normalise
from worker.fates import Verdict
from worker.parse import language
from worker.records import Article, Document, ParseOptions

EARLIEST = date(1900, 1, 1)
_BLANK_RUNS = re.compile(r"\n{3,}")


def tidy_body(body: str) -> str:
    """Keep paragraph breaks; drop trailing white space and surplus blank lines."""
    if "\r" in body:
        body = body.replace("\r\n", "\n").replace("\r", "\n")
    # Per line, not a regex over the text: a lookahead at every space cost 5x more;
    # and only when some line ends in white space (a C scan; most text has none).
    if " \n" in body or "\t\n" in body or "\u00a0\n" in body:
        body = "\n".join(line.rstrip(" \t\u00a0") for line in body.split("\n"))
    if "\n\n\n" in body:
        body = _BLANK_RUNS.sub("\n\n", body)
    return body.strip()


def validate(
    article: Article, options: ParseOptions, today: date | None = None
) -> Document | Verdict:
    """Every rule, the language and gibberish check included."""
    checked = validate_text(article, options, today)
    if isinstance(checked, Verdict):
        return checked
    return with_language(checked, language.read(checked.body))


def validate_text(
    article: Article, options: ParseOptions, today: date | None = None
) -> Document | Verdict:
    """Every rule but the language: the pipeline reads the languages of a whole
    batch in one go (`with_language`), where fastText's model stays in the CPU's
    cache (about 25 us a text instead of 80 when called between other work)."""
    today = today or date.today()
    record = article.record
    rejection = _check_characters(article) or _check_date(article, options, today)
    if rejection is not None:
        return rejection
    body = tidy_body(article.body)
    if len(body) < options.min_body_chars:
        return Verdict.rejected(
            "body_too_short",
            f"The body has {len(body)} characters; at least {options.min_body_chars} "
            "(min_body_chars) are required: send the full article text.",
            record,
        )
    normalised = normalise(body)
    return Document(
        published_on=article.published_on,
        body=body,
        title=_optional(article.title),
        url=_optional(article.url),
        source=_optional(article.source),
        # Normalising only collapses white space, so its words are the body's words.
        word_count=normalised.count(" ") + 1 if normalised else 0,
        language=None,
        record=record,
        normalised=normalised,
    )


def with_language(document: Document, reading: language.Reading) -> Document | Verdict:
    """The document with the language `reading` found in its body, or its rejection
    when the body forms no words."""
    if reading.gibberish is not None:
        return Verdict.rejected(
            "gibberish",
            f"{reading.gibberish} Send readable article text; if the file should be "
            "readable, check its encoding (save it as UTF-8).",
            document.record,
        )
    return replace(document, language=reading.language)


def _check_characters(article: Article) -> Verdict | None:
    """PostgreSQL text holds neither NUL nor a lone UTF-16 surrogate (JSON can escape both)."""
    fields = (
        ("title", article.title),
        ("body", article.body),
        ("url", article.url),
        ("source", article.source),
    )
    for name, value in fields:
        if not value:
            continue
        position = value.find("\x00")
        what = "a NUL character (U+0000)"
        if not value.isascii():
            try:
                value.encode("utf-8")  # fails on a surrogate; fast, unlike a regex search
            except UnicodeEncodeError as exc:
                if position < 0 or exc.start < position:
                    position = exc.start
                    what = f"a lone surrogate (U+{ord(value[exc.start]):04X})"
        if position >= 0:
            return Verdict.rejected(
                "invalid_characters",
                f"The field {name!r} holds {what} at character {position + 1}, which "
                "text in the database cannot store; remove it (in JSON, drop the \\u0000 "
                "or unpaired \\ud800-\\udfff escape).",
                article.record,
            )
    return None


def _check_date(article: Article, options: ParseOptions, today: date) -> Verdict | None:
    published, record = article.published_on, article.record
    if published is None:
        if article.date_text:
            # A parser kept the text of a date it could not read.
            return Verdict.rejected(
                "invalid_date",
                f"The date {article.date_text[:40]!r} is not a real date in the form "
                "YYYY-MM-DD; correct it.",
                record,
            )
        if not options.allow_undated:
            return Verdict.rejected(
                "missing_date",
                "No publication date was found; add `date YYYY-MM-DD` (or a date field), "
                "or enable allow_undated.",
                record,
            )
        return None
    latest = today + timedelta(days=1)
    if published < EARLIEST:
        return Verdict.rejected(
            "date_out_of_range",
            f"The date {published.isoformat()} is before 1900; correct the year.",
            record,
        )
    if published > latest:
        return Verdict.rejected(
            "date_out_of_range",
            f"The date {published.isoformat()} is more than a day in the future "
            f"(today is {today.isoformat()}); correct it.",
            record,
        )
    return None


def _optional(value: str | None) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())
    return value or None
