"""NDJSON / JSON Lines: one article object per line, each judged on its own.

Records are numbered from 1 in the order of non-blank lines; blank lines are
skipped. A bad line becomes a `RecordRejection`; the other lines still count.
"""

from __future__ import annotations

import json

from worker.errors import Rejected
from worker.parse import json_article
from worker.records import Article, ParseOptions, RecordRejection


def parse(text: str, options: ParseOptions) -> list[Article | RecordRejection]:
    results: list[Article | RecordRejection] = []
    record = 0
    for line_number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        record += 1
        results.append(_parse_line(line, line_number, record, options))
    return results


def _parse_line(
    line: str, line_number: int, record: int, options: ParseOptions
) -> Article | RecordRejection:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return RecordRejection(
            "malformed_json", json_article.describe_error(exc, line_number), record
        )
    except (RecursionError, ValueError):
        return RecordRejection(
            "malformed_json",
            f"Line {line_number} holds JSON nested too deeply or an unusable value; fix it.",
            record,
        )
    try:
        return json_article.article_from_object(obj, options, record)
    except Rejected as exc:
        return RecordRejection(exc.code, f"Line {line_number}: {exc.detail}", record)


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
