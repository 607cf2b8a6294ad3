"""`ingest tail`: an example consumer of the change feed, as JSON lines.

Each line is one feed entry: `{"cursor": "TXID:SEQ", "op": "insert"|"update",
"document": {...}}`. Resume after a line with `--since <its cursor>`. The
starting cursor goes to stderr, so a consumer that saw nothing can resume too.
"""

from __future__ import annotations

import json
import sys
import threading
from typing import Any, TextIO

from worker.db import feed
from worker.db.feed import Cursor
from worker.errors import ConfigurationError


def start_cursor(url: str, since: str | None) -> Cursor:
    if since is None or since == "now":
        return feed.current(url)
    if since in ("start", "beginning"):
        return feed.START
    try:
        return Cursor.parse(since)
    except ValueError as exc:
        raise ConfigurationError(f"--since: {exc}") from None


def entry(row: dict[str, Any]) -> dict[str, Any]:
    cursor = row.pop("cursor")
    op = row.pop("op")
    row.pop("recorded_at", None)
    return {"cursor": cursor, "op": op, "document": row}


def run_tail(
    url: str,
    since: str | None,
    stop: threading.Event,
    *,
    count: int | None = None,
    poll_s: float = 1.0,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    cursor = start_cursor(url, since)
    print(f"ingest tail: following from cursor {cursor}", file=err, flush=True)
    printed = 0
    try:
        for row in feed.follow(url, cursor, stop, poll_s=poll_s):
            out.write(json.dumps(entry(row), default=str, ensure_ascii=False) + "\n")
            out.flush()
            printed += 1
            if count is not None and printed >= count:
                break
    except BrokenPipeError:  # `ingest tail | head`: the reader left
        return 0
    return 0
