"""The values that flow between parsing, validation, dedupe and storage."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True, slots=True)
class ParseOptions:
    """Limits and switches the parsers and validators need (built from Settings)."""

    max_file_bytes: int = 50 * 1024 * 1024
    max_decompressed_bytes: int = 64 * 1024 * 1024
    min_body_chars: int = 20
    allow_undated: bool = False
    max_records_per_file: int = 10_000  # NDJSON records; 0 means no cap
    max_html_tags: int = 50_000  # 0 means no cap


@dataclass(frozen=True, slots=True)
class Article:
    """One record as a parser found it, before validation."""

    published_on: date | None
    body: str
    title: str | None = None
    url: str | None = None
    source: str | None = None
    record: int | None = None  # 1-based record number in multi-record files
    date_text: str | None = None  # the raw date as written, for error messages


@dataclass(frozen=True, slots=True)
class Document:
    """A validated record, ready to be fingerprinted and stored."""

    published_on: date | None
    body: str
    title: str | None
    url: str | None
    source: str | None
    word_count: int
    language: str | None
    record: int | None = None
    # The body as dedupe sees it (worker.dedupe.normalise), computed once here;
    # not stored, and not part of the document's identity.
    normalised: str = field(default="", repr=False, compare=False)
