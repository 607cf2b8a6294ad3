"""The reference format: `date YYYY-MM-DD`, then the body on that line and below.

Tolerated: leading white space (and a stray BOM), `date` in any case, an
optional colon after it, and the body starting on the header line or the next.
Line endings are normalised to `\\n` before this module sees the text.
"""

from __future__ import annotations

import re

from worker.errors import Rejected
from worker.parse.dates import parse_iso_date
from worker.records import Article, ParseOptions

# The token after `date` must start with a digit: "Date night ideas..." is an
# undated text, not a header with a broken date.
_HEADER = re.compile(r"[\s\ufeff]*date(?:[ \t]*:[ \t]*|[ \t]+)(?=\d)(\S+)", re.IGNORECASE)


def looks_dated(text: str) -> bool:
    """Cheap check used by the registry: does the text start with a date header?"""
    return _HEADER.match(text) is not None


def parse(text: str, options: ParseOptions) -> Article:
    match = _HEADER.match(text)
    if match is None:
        return parse_undated(text, options)
    date_text = match.group(1)
    published = parse_iso_date(date_text, "The date on the first line")
    body = text[match.end() :].lstrip()
    return Article(published_on=published, body=body, date_text=date_text)


def parse_undated(text: str, options: ParseOptions) -> Article:
    """Plain text without a header: stored undated only when allowed."""
    if not options.allow_undated:
        raise Rejected(
            "missing_date",
            "The text does not start with `date YYYY-MM-DD`; add that header "
            "(or enable allow_undated to accept undated text).",
        )
    return Article(published_on=None, body=text.lstrip())
