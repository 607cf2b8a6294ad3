"""Stable reason codes: the machine-readable half of every rejection or failure.

The README's table lists every code (a test checks it against this mapping).
Codes never change meaning once released; add new ones instead.
"""

from __future__ import annotations

# code -> (what it means, what to do)
REASONS: dict[str, tuple[str, str]] = {
    "empty_file": ("The file has no content.", "Check the producer; drop the file again."),
    "not_text": ("The file is binary, not text.", "Drop only supported text formats."),
    "undecodable": (
        "The bytes could not be decoded as text in any supported encoding.",
        "Save the file as UTF-8 and drop it again.",
    ),
    "unsupported_format": (
        "The content matches no supported format.",
        "Use dated text, JSON (one object), NDJSON, HTML or plain text, optionally gzipped.",
    ),
    "malformed_json": ("JSON that does not parse.", "Fix the JSON at the line and column given."),
    "missing_date": (
        "No publication date was found.",
        "Start the file with `date YYYY-MM-DD` or set allow_undated.",
    ),
    "invalid_date": ("The date does not exist (such as 2021-02-30).", "Correct the date."),
    "date_out_of_range": (
        "The date is before 1900 or more than a day in the future.",
        "Correct the date.",
    ),
    "body_too_short": ("The body is shorter than min_body_chars.", "Send the full article."),
    "no_valid_records": (
        "A multi-record file (NDJSON) in which no record could be stored.",
        "See the `rejections` rows (or the sidecar) for each record's reason; fix and resend.",
    ),
    "corrupt_archive": (
        "The gzip data is damaged or truncated and cannot be decompressed.",
        "Compress the file again (or copy it completely) and drop it again.",
    ),
    "missing_body": (
        "A JSON article has no text in body, text, content or articleBody.",
        "Put the article text in one of those fields.",
    ),
    "invalid_field": (
        "A JSON field has the wrong type (such as a number where text belongs).",
        "Make title, body, url and source strings (body may be a list of strings).",
    ),
    "invalid_characters": (
        "A text field holds a character the database cannot store "
        "(NUL, or a lone UTF-16 surrogate from a JSON escape).",
        "Remove the `\\u0000` or unpaired `\\ud800`-`\\udfff` escape from the named field.",
    ),
    "gibberish": (
        "The text forms no words in any language (random letters, binary data read "
        "through a legacy code page, base64, a hex dump).",
        "Send readable article text; if it should be readable, save the file as UTF-8.",
    ),
    "too_many_records": (
        "A multi-record file (NDJSON) holds more records than max_records_per_file.",
        "Split the file (or raise max_records_per_file).",
    ),
    "too_many_tags": (
        "The HTML page holds more tags than max_html_tags.",
        "Send the article's own page (or raise max_html_tags).",
    ),
    "too_large": ("The file exceeds max_file_bytes (or its decompressed size does).", "Split it."),
    "symlink": ("The inbox entry is a symbolic link; links are never followed.", "Copy the file."),
    "file_vanished": (
        "The file disappeared between claim and processing.",
        "Drop it again if it was not meant to be removed.",
    ),
    "not_a_file": (
        "The inbox entry is not a regular file (a named pipe, socket or device); "
        "it is never opened for reading.",
        "Drop regular files only (write the data to a file, then move it in).",
    ),
    "unreadable": ("The file could not be read (permissions or I/O).", "Fix permissions."),
    "parser_crashed": (
        "Parsing raised an unexpected error on every attempt.",
        "Report it with the file; `ingest retry` after a fix.",
    ),
    "parse_timeout": (
        "Parsing took longer than parse_time_limit_s on every attempt.",
        "Split or simplify the file (or raise parse_time_limit_s) and drop it again.",
    ),
    "attempts_exhausted": (
        "Processing was interrupted (worker killed or timed out) on every attempt.",
        "Inspect the file; `ingest retry` after a fix.",
    ),
    "store_error": (
        "PostgreSQL refused to store this file's data (the other files of its batch were "
        "stored without it).",
        "Report it with the file; `ingest retry` after a fix.",
    ),
}


def describe(code: str) -> str:
    """The human half of a code, for messages that only carry the code."""
    meaning, _ = REASONS.get(code, ("Unknown reason.", ""))
    return meaning
