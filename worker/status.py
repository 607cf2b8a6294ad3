"""`ingest status` (fates, queue, backlog, rate, rejections) and the live line of `ingest up`."""

from __future__ import annotations

import json
import os
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from worker import db
from worker.settings import Settings

FATES = ("processing", "stored", "duplicate", "rejected", "failed")


def fate_counts(url: str) -> dict[str, int]:
    counts = dict.fromkeys(FATES, 0)
    with db.connect(url, autocommit=True) as conn, db.wrap_errors():
        for status, count in conn.execute(db.query("fate_counts")):
            counts[str(status)] = int(str(count))
    return counts


def fates_since(conn: psycopg.Connection[Any], since: datetime) -> dict[str, int]:
    """Files that reached each final fate since `since` (an indexed read, cheap to repeat)."""
    counts = dict.fromkeys(("stored", "duplicate", "rejected", "failed"), 0)
    with db.wrap_errors():
        for status, count in conn.execute(db.query("fates_since"), {"since": since}):
            counts[str(status)] = int(str(count))
    return counts


def spool_backlog(spool: Path) -> int:
    if not spool.is_dir():
        return 0
    return sum(len(files) for _root, _dirs, files in os.walk(spool))


def snapshot(url: str, spool: Path) -> dict[str, Any]:
    counts = fate_counts(url)
    return {
        "files": counts,
        "received": sum(counts.values()),
        "spool_backlog": spool_backlog(spool),
    }


# -- the full report of `ingest status` ---------------------------------------

QUEUE = "ingest"  # the Celery queue (celery_app: task_default_queue)
# Celery's Redis transport keeps priorities in sibling lists (default steps 0, 3, 6, 9).
_QUEUE_LISTS = (QUEUE, *(f"{QUEUE}\x06\x16{step}" for step in (3, 6, 9)))
_INBOX_SCAN_LIMIT = 10_000


def queue_depth(broker_url: str | None) -> dict[str, Any]:
    """Batches waiting in the broker and batches taken but not acknowledged."""
    if not broker_url:
        return {"waiting": None, "unacked": None, "error": "broker_url is not set"}
    import redis

    client = redis.Redis.from_url(broker_url, socket_timeout=2, socket_connect_timeout=2)
    try:
        waiting = sum(int(client.llen(name)) for name in _QUEUE_LISTS)
        unacked = int(client.hlen("unacked"))
    except redis.RedisError as exc:
        return {"waiting": None, "unacked": None, "error": f"broker unavailable: {exc}"}
    finally:
        client.close()
    return {"waiting": waiting, "unacked": unacked, "error": None}


def oldest_claim(spool: Path) -> dict[str, Any] | None:
    """The oldest claim still in the spool (claim ids sort by claim time)."""
    from worker.inbox import claimed_at, pending_claims

    for claim in pending_claims(spool)[:1]:
        at = claimed_at(claim.claim_id)
        return {"name": claim.name, "claimed_at": at.isoformat(), "age_s": _age(at.timestamp())}
    return None


def inbox_waiting(inbox: Path) -> dict[str, Any]:
    """Files in the inbox not claimed yet (junk names excluded), and the oldest of them."""
    from worker.inbox import is_junk

    count, oldest, oldest_name = 0, None, None
    for root, dirs, files in os.walk(inbox):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            path = Path(root) / name
            relative = path.relative_to(inbox).as_posix()
            if is_junk(relative):
                continue
            try:
                mtime = path.lstat().st_mtime
            except OSError:
                continue
            count += 1
            if oldest is None or mtime < oldest:
                oldest, oldest_name = mtime, relative
            if count >= _INBOX_SCAN_LIMIT:
                break
    return {
        "files": count,
        "oldest": None if oldest is None else {"name": oldest_name, "age_s": _age(oldest)},
    }


def _age(timestamp: float) -> float:
    import time

    return round(max(0.0, time.time() - timestamp), 1)


def report(settings: Settings, rejections: int = 5) -> dict[str, Any]:
    url = settings.database_url or ""
    data = snapshot(url, settings.spool_dir)
    with db.connect(url, autocommit=True) as conn, db.wrap_errors():
        row = conn.execute(db.query("status_recent")).fetchone()
        recent = int(str(row[0])) if row else 0
        with conn.cursor(row_factory=dict_row) as cur:
            latest = cur.execute(db.query("status_rejections"), {"limit": rejections}).fetchall()
    data["last_minute"] = {"finished": recent, "per_s": round(recent / 60, 2)}
    data["queue"] = queue_depth(settings.broker_url)
    data["oldest_claim"] = oldest_claim(settings.spool_dir)
    data["inbox_waiting"] = inbox_waiting(settings.inbox_dir)
    data["latest_rejections"] = [
        {**r, "finished_at": r["finished_at"].isoformat() if r["finished_at"] else None}
        for r in latest
    ]
    return data


def render(data: dict[str, Any]) -> str:
    lines = [f"received   {data['received']}"]
    lines += [f"  {fate:<10} {count}" for fate, count in data["files"].items()]
    recent = data["last_minute"]
    lines.append(f"last min   {recent['finished']} finished ({recent['per_s']}/s)")
    queue = data["queue"]
    if queue["error"]:
        lines.append(f"queue      ? ({queue['error']})")
    else:
        lines.append(f"queue      {queue['waiting']} batches waiting, {queue['unacked']} in hand")
    oldest = data["oldest_claim"]
    lines.append(
        f"spool      {data['spool_backlog']} claimed, not finished"
        + (f"; oldest {oldest['age_s']}s ({oldest['name']})" if oldest else "")
    )
    waiting = data["inbox_waiting"]
    lines.append(
        f"inbox      {waiting['files']} not claimed yet"
        + (f"; oldest {waiting['oldest']['age_s']}s" if waiting["oldest"] else "")
    )
    if data["latest_rejections"]:
        lines.append("latest rejections:")
        lines += [
            f"  #{r['id']} {r['name']}: {r['reason']}: {r['detail']}"
            for r in data["latest_rejections"]
        ]
    return "\n".join(lines)


def run_status(
    settings: Settings, *, as_json: bool, watch: float | None, stop: threading.Event
) -> int:
    """Print the report once, or every `watch` seconds until stopped (JSON: one line each)."""
    while True:
        data = report(settings)
        if as_json:
            print(json.dumps(data), flush=True)
        else:
            if watch is not None and sys.stdout.isatty():
                print("\x1b[H\x1b[2J", end="")  # clear the screen between refreshes
            print(render(data) + ("\n" if watch is not None else ""), flush=True)
        if watch is None or stop.wait(watch):
            return 0
