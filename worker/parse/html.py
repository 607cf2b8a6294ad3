"""HTML article pages: main text, title and date via trafilatura (+ htmldate).

No network access: we parse the markup into a tree ourselves and hand
trafilatura that tree, so neither it nor htmldate ever sees a string it could
mistake for a URL to download. `fast` skips the slower fallback extractors.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import trafilatura
from trafilatura.utils import load_html

from worker.errors import Rejected
from worker.parse.dates import parse_iso_date
from worker.records import Article, ParseOptions

# Markup we accept as an HTML page when it opens the file, after any comments
# (skipped by `looks_like_html`: `(?:<!--.*?-->\s*)*` in a regex backtracks
# exponentially over a run of empty comments that no tag follows).
_HTML_START = re.compile(
    r"(?:<\?xml[^>]*>\s*)?"
    r"<(?:!doctype\s+html|html|head|body|meta|title|article|main|section|div|p|h1|header)[\s>/]",
    re.IGNORECASE,
)
_SPACE = re.compile(r"\s*")
_PARAGRAPH_SPLIT = re.compile(r"\n+")
_HEAD_CHARS = 4096


def looks_like_html(text: str) -> bool:
    head = text[:_HEAD_CHARS]
    at = _skip_space(head, 0)
    while head.startswith("<!--", at):  # one pass over the comments: linear
        end = head.find("-->", at + 4)
        if end < 0:
            return False
        at = _skip_space(head, end + 3)
    return _HTML_START.match(head, at) is not None


def _skip_space(text: str, at: int) -> int:
    match = _SPACE.match(text, at)
    return match.end() if match else at


def parse(text: str, options: ParseOptions) -> Article:
    # trafilatura spends about 20 us per element: a page built of tiny elements
    # would hold a worker for the whole time limit, on every attempt.
    tags = text.count("<")
    if options.max_html_tags and tags > options.max_html_tags:
        raise Rejected(
            "too_many_tags",
            f"The page holds about {tags} tags, more than max_html_tags ({options.max_html_tags}).",
        )
    # trafilatura refuses bare fragments ("<p>...</p>" alone); wrap them.
    tree = load_html(text)
    if tree is None:
        tree = load_html(f"<html><body>{text}</body></html>")
    if tree is None:
        raise Rejected("unsupported_format", "The file looks like HTML but does not parse as HTML.")
    extracted = trafilatura.bare_extraction(
        tree,
        fast=True,
        favor_precision=True,
        include_comments=False,
        include_images=False,
        include_links=False,
        with_metadata=True,
        date_extraction_params={
            "original_date": True,  # publication, not last-modified
            "extensive_search": False,  # text search took a copyright year for the date
            "max_date": (date.today() + timedelta(days=1)).isoformat(),
        },
    )
    title = _clean(getattr(extracted, "title", None))
    body = _paragraphs(getattr(extracted, "text", None) or "", title)
    if not body:
        raise Rejected(
            "body_too_short",
            "No article text could be found in the HTML page; send the article page "
            "itself (not an index or a script-rendered shell).",
        )
    date_text: str | None = getattr(extracted, "date", None)
    if date_text:
        published = parse_iso_date(date_text, "The page date")
    elif options.allow_undated:
        published = None
    else:
        raise Rejected(
            "missing_date",
            "No publication date was found in the HTML page (meta tags, JSON-LD, "
            "<time> or dated elements); add one, or enable allow_undated.",
        )
    return Article(
        published_on=published,
        body=body,
        title=title,
        url=_clean(getattr(extracted, "url", None)),
        source=_clean(getattr(extracted, "sitename", None)),
        date_text=date_text,
    )


def _paragraphs(text: str, title: str | None) -> str:
    """trafilatura puts one block per line; store blocks as paragraphs.

    The headline usually opens the extracted text; it is stored as the title,
    so it is not repeated as the first paragraph.
    """
    parts = [part.strip() for part in _PARAGRAPH_SPLIT.split(text) if part.strip()]
    if parts and title and parts[0] == title:
        parts = parts[1:]
    return "\n\n".join(parts)


def _clean(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None
