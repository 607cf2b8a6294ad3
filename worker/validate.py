"""Rules that turn a parsed record into a storable document or a rejection."""

from __future__ import annotations

from datetime import date, timedelta

from worker.records import Article, Document, ParseOptions, RecordRejection

_EARLIEST = date(1900, 1, 1)


def tidy_body(body: str) -> str:
    """Keep paragraph breaks, drop trailing space and blank lines at the ends."""
    lines = [line.rstrip() for line in body.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(lines).strip("\n").strip()


def validate(
    article: Article, options: ParseOptions, today: date | None = None
) -> Document | RecordRejection:
    today = today or date.today()
    record = article.record
    if article.published_on is None:
        if not options.allow_undated:
            return RecordRejection("missing_date", "No publication date was found.", record)
    elif not _EARLIEST <= article.published_on <= today + timedelta(days=1):
        return RecordRejection(
            "date_out_of_range",
            f"The date {article.published_on.isoformat()} is before 1900 "
            "or more than a day in the future.",
            record,
        )
    body = tidy_body(article.body)
    if len(body) < options.min_body_chars:
        return RecordRejection(
            "body_too_short",
            f"The body has {len(body)} characters; at least {options.min_body_chars} are required.",
            record,
        )
    return Document(
        published_on=article.published_on,
        body=body,
        title=article.title,
        url=article.url,
        source=article.source,
        word_count=len(body.split()),
        language=None,
        record=record,
    )
