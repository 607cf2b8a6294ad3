"""The reference format: `date YYYY-MM-DD` then the body, same line or below."""

from __future__ import annotations

import re
from datetime import date

from worker.errors import Rejected
from worker.records import Article

_HEADER = re.compile(r"\A\s*date[ \t]+(\S+)[ \t]*(.*)\Z", re.IGNORECASE | re.DOTALL)
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def parse(text: str) -> Article:
    match = _HEADER.match(text)
    if match is None:
        raise Rejected("missing_date", "The file does not start with `date YYYY-MM-DD`.")
    raw_date, body = match.group(1), match.group(2)
    iso = _ISO.fullmatch(raw_date)
    if iso is None:
        raise Rejected("invalid_date", f"The date {raw_date!r} is not in the form YYYY-MM-DD.")
    try:
        published = date(int(iso[1]), int(iso[2]), int(iso[3]))
    except ValueError as exc:
        raise Rejected("invalid_date", f"The date {raw_date} does not exist ({exc}).") from exc
    return Article(published_on=published, body=body, date_text=raw_date)
