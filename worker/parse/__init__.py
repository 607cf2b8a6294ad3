"""Format registry: bytes of one file -> the records it holds.

Formats are recognised by content first, extension second. A whole-file
problem raises `Rejected`; a problem with one record of a multi-record file
is returned as a `Verdict` so the other records still count.

Order of the checks: size, gzip (inflated under a cap), decoding, then the
text's first non-blank character picks JSON/NDJSON, a `date` header picks the
reference format, markup picks HTML, and anything else is undated plain text.
"""

from __future__ import annotations

import re

from worker.errors import Rejected
from worker.fates import Verdict
from worker.parse import compressed, dated_text, html, json_article, ndjson
from worker.parse.decode import decode as decode_bytes
from worker.records import Article, ParseOptions

NDJSON_SUFFIXES = frozenset({".ndjson", ".jsonl", ".jsonlines", ".ldjson"})
JSON_SUFFIXES = frozenset({".json", *NDJSON_SUFFIXES})
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml", ".shtml"})

_LEADING_SPACE = re.compile(r"[\s\ufeff]*")
# What only JSON opens with: `{"`, `{}`, `[{`, `["`, `[[`, `[]`.
_JSON_START = re.compile(r"[\[{]\s*[\"{\[\]}]")


def parse_file(raw: bytes, name: str, options: ParseOptions) -> list[Article | Verdict]:
    if len(raw) > options.max_file_bytes:
        raise Rejected(
            "too_large",
            f"The file has {len(raw)} bytes, over max_file_bytes ({options.max_file_bytes}); "
            "split it into smaller files.",
        )
    if compressed.is_gzip(raw):
        raw = compressed.gunzip(raw, options.max_decompressed_bytes)
        if compressed.is_gzip(raw):
            raise Rejected(
                "unsupported_format",
                "The file is gzip inside gzip; compress it only once and drop it again.",
            )
        name = name.removesuffix(".gz").removesuffix(".GZ")
    text = decode_bytes(raw)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    match = _LEADING_SPACE.match(text)
    start = match.end() if match else 0
    if start == len(text):
        raise Rejected("empty_file", "The file holds only white space; drop it again once written.")
    return _dispatch(text, start, _suffix(name).lower(), options)


def _dispatch(text: str, start: int, suffix: str, options: ParseOptions) -> list[Article | Verdict]:
    first = text[start]
    if first in "{[":
        return _parse_json_family(text, start, suffix, options)
    if dated_text.looks_dated(text):
        return [dated_text.parse(text, options)]
    if html.looks_like_html(text) or (suffix in HTML_SUFFIXES and "<" in text[:4096]):
        return [html.parse(text, options)]
    if text.startswith("<?xml", start):
        raise Rejected(
            "unsupported_format",
            "The file is XML but not an HTML page (RSS, Atom and other XML are not "
            "supported); send the articles as HTML, JSON or dated text.",
        )
    return [dated_text.parse_undated(text, options)]


def _parse_json_family(
    text: str, start: int, suffix: str, options: ParseOptions
) -> list[Article | Verdict]:
    if suffix in NDJSON_SUFFIXES:
        return ndjson.parse(text, options)
    try:
        value = json_article.load(text)
    except Rejected:
        # Several objects, one per line, do not parse as one JSON document.
        if ndjson.has_object_line(text):
            return ndjson.parse(text, options)
        if suffix not in JSON_SUFFIXES and not _JSON_START.match(text, start):
            # "[Updated] ..." is prose that happens to open with a bracket.
            return [dated_text.parse_undated(text, options)]
        raise
    return [json_article.article_from_object(value, options)]


def _suffix(name: str) -> str:
    """PurePosixPath(name).suffix without building a path (a claim's name is plain)."""
    leaf = name.rpartition("/")[2]
    dot = leaf.rfind(".")
    return leaf[dot:] if 0 < dot < len(leaf) - 1 else ""
