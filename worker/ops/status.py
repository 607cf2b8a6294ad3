"""`ingest status`: files by fate, the broker's queue, the spool, the inbox, rate, rejections."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from worker import db
from worker.broker.depth import queue_depth
from worker.fates import FINAL_FATES, Fate
from worker.files.capacity import reason as holdback_reason
from worker.files.claims import claimed_at
from worker.files.safe import open_root
from worker.files.scan import scan
from worker.files.spool import pending_claims
from worker.logs import printable
from worker.objects import listing
from worker.objects.location import Location
from worker.objects.store import StoreUnavailable, client
from worker.settings import Settings

_INBOX_SCAN_LIMIT = 10_000


def fate_counts(conn: psycopg.Connection[Any]) -> dict[str, int]:
    counts = dict.fromkeys(Fate, 0)
    for status, count in conn.execute(db.query("status.fate_counts")):
        counts[Fate(status)] = int(count)
    return {str(fate): n for fate, n in counts.items()}


def fates_since(conn: psycopg.Connection[Any], since: datetime) -> dict[str, int]:
    """Files that reached each final fate since `since` (an indexed read, cheap to repeat)."""
    counts = {str(fate): 0 for fate in FINAL_FATES}
    with db.wrap_errors():
        for status, count in conn.execute(db.query("status.fates_since"), {"since": since}):
            counts[str(status)] = int(count)
    return counts


def server_clock(conn: psycopg.Connection[Any]) -> datetime:
    row = conn.execute(db.query("status.clock")).fetchone()
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


def _spool(settings: Settings) -> dict[str, Any]:
    """Claims without a fate, the oldest of them, and whether the watcher holds back."""
    if settings.inbox_is_s3:
        return _s3_spool(settings)
    try:
        spool = open_root(settings.spool_dir)
    except OSError:
        return {"backlog": 0, "oldest": None, "holding_back": None}
    try:
        claims = pending_claims(spool)
        holding = holdback_reason(settings, spool)
    finally:
        os.close(spool)
    oldest = None
    if claims:
        at = claimed_at(claims[0].claim_id)
        oldest = {
            "name": claims[0].name,
            "claimed_at": at.isoformat(),
            "age_s": _age(at.timestamp()),
        }
    return {"backlog": len(claims), "oldest": oldest, "holding_back": holding}


def inbox_waiting(settings: Settings) -> dict[str, Any]:
    """Files in the inbox not claimed yet (junk names excluded), and the oldest of them."""
    if settings.inbox_is_s3:
        return _s3_inbox(settings)
    count, oldest, oldest_name = 0, None, None
    try:
        inbox = open_root(settings.inbox_dir)
    except OSError:
        return {"files": 0, "oldest": None}
    try:
        for relative, snap in scan(inbox):
            count += 1
            mtime = snap.mtime_ns / 1e9
            if oldest is None or mtime < oldest:
                oldest, oldest_name = mtime, relative
            if count >= _INBOX_SCAN_LIMIT:
                break
    finally:
        os.close(inbox)
    return {
        "files": count,
        "oldest": None if oldest is None else {"name": oldest_name, "age_s": _age(oldest)},
    }


def _s3_spool(settings: Settings) -> dict[str, Any]:
    """An S3 inbox has no claimed state: what `ingest retry` put back waits in the
    spool prefix; the watcher holds back while the inbox prefix holds too many."""
    s3 = client(settings.s3_endpoint_url)
    inbox, files = Location.parse(settings.inbox_location), Location.parse(settings.files_location)
    limit = settings.max_queued_files
    try:
        spooled = listing.count(s3, files, listing.SPOOL, _INBOX_SCAN_LIMIT)
        listed = listing.count(s3, inbox, "", limit + 1).objects if limit else 0
    except StoreUnavailable as exc:
        return {"backlog": 0, "oldest": None, "holding_back": None, "error": str(exc)}
    oldest = None
    if spooled.oldest_ns is not None:
        at = spooled.oldest_ns / 1e9
        oldest = {
            "name": (spooled.oldest_name or "").split("/", 2)[-1],  # spool/<claim id>/<name>
            "claimed_at": datetime.fromtimestamp(at, UTC).isoformat(),
            "age_s": _age(at),
        }
    holding = None
    if limit and listed > limit:
        holding = f"more than max_queued_files ({limit}) objects wait in the inbox prefix"
    return {"backlog": spooled.objects, "oldest": oldest, "holding_back": holding}


def _s3_inbox(settings: Settings) -> dict[str, Any]:
    """Objects under the inbox prefix (published or not: each waits for its fate)."""
    s3 = client(settings.s3_endpoint_url)
    try:
        found = listing.count(s3, Location.parse(settings.inbox_location), "", _INBOX_SCAN_LIMIT)
    except StoreUnavailable as exc:
        return {"files": 0, "oldest": None, "error": str(exc)}
    oldest = None
    if found.oldest_ns is not None:
        oldest = {"name": found.oldest_name, "age_s": _age(found.oldest_ns / 1e9)}
    return {"files": found.objects, "oldest": oldest}


def _age(timestamp: float) -> float:
    return round(max(0.0, time.time() - timestamp), 1)


def report(settings: Settings, rejections: int = 5) -> dict[str, Any]:
    url = settings.require_database_url()
    with db.connect(url, autocommit=True) as conn, db.wrap_errors():
        counts = fate_counts(conn)
        row = conn.execute(db.query("status.recent")).fetchone()
        recent = int(str(row[0])) if row else 0
        with conn.cursor(row_factory=dict_row) as cur:
            latest = cur.execute(db.query("status.rejections"), {"limit": rejections}).fetchall()
    spool = _spool(settings)
    depth = queue_depth(settings.broker_url)
    return {
        "files": counts,
        "received": sum(counts.values()),
        "spool_backlog": spool["backlog"],
        "oldest_claim": spool["oldest"],
        "holding_back": spool["holding_back"],
        "last_minute": {"finished": recent, "per_s": round(recent / 60, 2)},
        "queue": {"waiting": depth.waiting, "unacked": depth.unacked, "error": depth.error},
        "inbox_waiting": inbox_waiting(settings),
        "latest_rejections": [
            {**r, "finished_at": r["finished_at"].isoformat() if r["finished_at"] else None}
            for r in latest
        ],
    }


def render(data: dict[str, Any]) -> str:
    """The report for a terminal; every file name escaped (no control characters)."""
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
        + (f"; oldest {oldest['age_s']}s ({printable(oldest['name'])})" if oldest else "")
    )
    if data["holding_back"]:
        lines.append(f"holding    the watcher stops claiming: {data['holding_back']}")
    waiting = data["inbox_waiting"]
    lines.append(
        f"inbox      {waiting['files']} not claimed yet"
        + (f"; oldest {waiting['oldest']['age_s']}s" if waiting["oldest"] else "")
    )
    if waiting.get("error"):
        lines.append(f"store      ? ({waiting['error']})")
    if data["latest_rejections"]:
        lines.append("latest rejections:")
        lines += [
            f"  #{r['id']} {printable(r['name'])}: {r['reason']}: {printable(r['detail'] or '')}"
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
