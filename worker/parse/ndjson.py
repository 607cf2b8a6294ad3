"""NDJSON / JSON Lines: one article object per line, each judged on its own.

Records are numbered from 1 in the order of non-blank lines; blank lines are
skipped. A bad line becomes a `Verdict`; the other lines still count.
A file with more than `max_records_per_file` records is rejected whole, found
while the lines are split, before any of them is parsed.
"""

from __future__ import annotations

import json
import re

from worker.errors import Rejected
from worker.fates import Verdict
from worker.parse import json_article
from worker.records import Article, ParseOptions

_NON_BLANK = re.compile(r"\S")


def parse(text: str, options: ParseOptions) -> list[Article | Verdict]:
    lines = _records(text, options.max_records_per_file)
    return [
        _parse_line(line, line_number, record, options)
        for record, (line_number, line) in enumerate(lines, start=1)
    ]


def _records(text: str, limit: int) -> list[tuple[int, str]]:
    """(line number, line) of each non-blank line; `Rejected` past `limit` of them.

    Runs of blank lines are skipped by one regex scan each, not a Python step per line.
    """
    found: list[tuple[int, str]] = []
    at, line_number, counted = 0, 1, 0
    while (match := _NON_BLANK.search(text, at)) is not None:
        start = text.rfind("\n", 0, match.start()) + 1
        end = text.find("\n", match.start())
        end = len(text) if end < 0 else end
        line_number += text.count("\n", counted, start)
        counted = start
        found.append((line_number, text[start:end]))
        if limit and len(found) > limit:
            raise Rejected(
                "too_many_records",
                f"The file holds more than {limit} records (counting stopped at "
                f"record {limit + 1}, on line {line_number}); the limit is "
                f"max_records_per_file ({limit}): split the file.",
            )
        at = end + 1
    return found


def _parse_line(
    line: str, line_number: int, record: int, options: ParseOptions
) -> Article | Verdict:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return Verdict.rejected(
            "malformed_json", json_article.describe_error(exc, line_number), record
        )
    except (RecursionError, ValueError):
        return Verdict.rejected(
            "malformed_json",
            f"Line {line_number} holds JSON nested too deeply or an unusable value; fix it.",
            record,
        )
    try:
        return json_article.article_from_object(obj, options, record)
    except Rejected as exc:
        return Verdict.rejected(exc.reason, f"Line {line_number}: {exc.detail}", record)


def has_object_line(text: str, max_lines: int = 20) -> bool:
    """Do the first non-blank lines include one that is a JSON object on its own?"""
    seen = 0
    for line in text.split("\n", 1000):
        stripped = line.strip()
        if not stripped:
            continue
        seen += 1
        if stripped.startswith("{") and stripped.endswith("}"):
            try:
                if isinstance(json.loads(stripped), dict):
                    return True
            except (ValueError, RecursionError):
                pass
        if seen >= max_lines:
            break
    return False
