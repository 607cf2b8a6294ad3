"""JSON: one file holds one article object.

Field mapping (the first key present with a non-empty value wins, in the
order listed):

==============  ==========================================================
Article field   JSON keys
==============  ==========================================================
published_on    ``date``, ``published``, ``published_at``, ``published_on``,
                ``datePublished`` -- an ISO date or datetime (date part kept)
title           ``title``, ``headline``
body            ``body``, ``text``, ``content``, ``articleBody`` -- a string,
                or a list of strings (joined as paragraphs)
url             ``url``
source          ``source`` -- a string, or an object with a ``name``
==============  ==========================================================

Other keys are ignored. The same mapping serves each line of NDJSON.
"""

from __future__ import annotations

import json
from typing import Any

from worker.errors import Rejected
from worker.parse.dates import parse_iso_date
from worker.records import Article, ParseOptions

DATE_KEYS = ("date", "published", "published_at", "published_on", "datePublished")
TITLE_KEYS = ("title", "headline")
BODY_KEYS = ("body", "text", "content", "articleBody")


def load(text: str) -> Any:
    """`json.loads` with errors turned into `malformed_json` (line and column)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise Rejected("malformed_json", describe_error(exc)) from exc
    except RecursionError as exc:
        # Pathological nesting ("[[[[..."): refuse rather than blow the stack.
        raise Rejected(
            "malformed_json", "The JSON is nested too deeply to be an article; flatten it."
        ) from exc
    except ValueError as exc:  # e.g. an integer with thousands of digits
        raise Rejected("malformed_json", f"The JSON holds an unusable value ({exc}).") from exc


def describe_error(exc: json.JSONDecodeError, line: int | None = None) -> str:
    where = f"line {line if line is not None else exc.lineno}, column {exc.colno}"
    return f"The JSON is malformed at {where}: {exc.msg}; fix it there and drop it again."


def article_from_object(obj: Any, options: ParseOptions, record: int | None = None) -> Article:
    """Map one decoded JSON value to an Article; raise `Rejected` if it cannot be one."""
    if not isinstance(obj, dict):
        raise Rejected(
            "unsupported_format",
            f"The JSON holds {_kind(obj)}, not an article object; send one object "
            "per file (or one per line as NDJSON).",
            record,
        )
    body = _body(obj, record)
    date_key, date_value = _first(obj, DATE_KEYS)
    if date_key is None:
        if not options.allow_undated:
            raise Rejected(
                "missing_date",
                f"The article has no date; add one of {', '.join(DATE_KEYS)} as YYYY-MM-DD.",
                record,
            )
        published = None
    elif not isinstance(date_value, str):
        raise Rejected(
            "invalid_date",
            f"The field {date_key!r} holds {_kind(date_value)}; write the date as a "
            "string YYYY-MM-DD.",
            record,
        )
    else:
        try:
            published = parse_iso_date(date_value, f"The date in {date_key!r}")
        except Rejected as exc:
            raise Rejected(exc.reason, exc.detail, record) from exc
    return Article(
        published_on=published,
        body=body,
        title=_string(obj, TITLE_KEYS, record),
        url=_string(obj, ("url",), record),
        source=_source(obj, record),
        record=record,
        date_text=date_value if isinstance(date_value, str) else None,
    )


def _first(obj: dict[str, Any], keys: tuple[str, ...]) -> tuple[str | None, Any]:
    for key in keys:
        value = obj.get(key)
        if value is not None and value != "" and value != []:
            return key, value
    return None, None


def _body(obj: dict[str, Any], record: int | None) -> str:
    key, value = _first(obj, BODY_KEYS)
    if key is None:
        raise Rejected(
            "missing_body",
            f"The article has no text; put it in one of {', '.join(BODY_KEYS)}.",
            record,
        )
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(part, str) for part in value):
        return "\n\n".join(value)
    raise Rejected(
        "invalid_field",
        f"The field {key!r} holds {_kind(value)}; it must be a string (or a list of strings).",
        record,
    )


def _string(obj: dict[str, Any], keys: tuple[str, ...], record: int | None) -> str | None:
    key, value = _first(obj, keys)
    if key is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    raise Rejected(
        "invalid_field", f"The field {key!r} holds {_kind(value)}; it must be a string.", record
    )


def _source(obj: dict[str, Any], record: int | None) -> str | None:
    value = obj.get("source")
    # NewsAPI-style exports nest the outlet: {"source": {"id": ..., "name": "BBC"}}.
    if isinstance(value, dict):
        value = value.get("name")
        if value is None:
            return None
        return _string({"source": value}, ("source",), record)
    return _string(obj, ("source",), record)


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)
