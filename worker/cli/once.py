"""`ingest up --once`: take what the inbox holds at the start, wait for every fate, stop.

For batch imports and CI jobs. What is waited for, the *start set*, is looked at
once, before the watcher starts:

- a folder inbox: every entry `worker.files.scan` finds that the watcher would
  take (not a completion marker; with completion_marker = "required", only the
  marked ones), and every claim an earlier run left in the spool. Each is known
  by its name and inode: a file dropped later under the same name is another file
  (one that gets the inode of the file it replaced is waited for too: no harm);
- an S3 inbox: the claim of every object listed under the inbox prefix (bucket,
  key, ETag and upload time), and every claim `ingest retry` put in the spool prefix.

An item is done once it is in neither the inbox nor the spool, looked at in that
order (a claim made between the two looks is seen in the spool). A file leaves
the spool, an object the inbox prefix, only after its fate is committed: so then
no ledger row of the start set is still `processing`.

Files dropped after the start are taken if the watcher sees them before the end
and counted if they have their fate by then, but nothing waits for them: those
still in flight stay in the spool (or the inbox) and the next run takes them.

The summary counts the fates recorded since the start (the database's clock, as
the live line counts). Exit code 0: every item is done and no file failed; 1:
some file failed, or the run ended with items left: interrupted, or no progress
(no item done, no fate recorded) for `requeue_after_s + task_time_limit_s`, the
longest a lost or slow batch keeps a file without news; a file that its writer
keeps open, for one, is never taken.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from typing import Any

import psycopg

from worker import db
from worker.cli.console import Console
from worker.errors import IngestError
from worker.files.claims import InvalidClaim
from worker.files.safe import LinkInPath, open_root
from worker.files.scan import scan
from worker.files.spool import lstat_claimed, pending_claims
from worker.logs import printable
from worker.objects.listing import inbox_claims, spool_claims
from worker.objects.location import Location
from worker.objects.store import StoreUnavailable, client
from worker.ops.status import fates_since, server_clock
from worker.settings import Settings
from worker.watcher.markers import DONE_SUFFIX, FOLDER_MARKER, Markers

#: Between two looks at the inbox, at least this long, and four times what the last look took.
MIN_LOOK_S = 1.0
LOOK_SHARE = 4.0
SHOWN_LEFT = 5  # names of items left that the final message shows

Items = dict[str, str]  # identity -> name


class Drain:
    def __init__(
        self, settings: Settings, database_url: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.settings = settings
        self.database_url = database_url
        self._clock = clock
        self._conn: psycopg.Connection[Any] | None = None
        self.since = server_clock(self._connection())
        self.started = clock()
        self.items = _look(settings, start=True)
        self.left = dict(self.items)
        self.stall_s = settings.requeue_after_s + settings.task_time_limit_s
        self.stalled = False
        self._next_look = 0.0
        self._progress_at = self.started
        self._finished = -1  # fates recorded since the start, at the last look

    def header(self) -> str:
        return (
            f"Once:       {len(self.items)} files waiting at the start; "
            "exits when each has its fate"
        )

    def finished(self) -> bool:
        """Whether the run is over: every item done, or no progress for stall_s.
        Cheap to call often: the inbox is looked at only now and then."""
        now = self._clock()
        if now < self._next_look:
            return False
        try:
            current = _look(self.settings, start=False)
        except StoreUnavailable:
            current = None  # no news: the stall clock runs on
        spent = self._clock() - now
        self._next_look = now + max(MIN_LOOK_S, LOOK_SHARE * spent)
        if current is not None:
            done = [key for key in self.left if key not in current]
            for key in done:
                del self.left[key]
            if done:
                self._progress_at = now
        finished = self._count_finished()
        if finished is not None and finished != self._finished:
            self._finished = finished
            self._progress_at = now
        if not self.left:
            return True
        self.stalled = now - self._progress_at > self.stall_s
        return self.stalled

    def summary(self, console: Console, *, interrupted: bool) -> int:
        """Print the summary line (and what was left, why); the exit code."""
        counts = self._counts()
        failed = counts.get("failed", 0)
        console.header(
            f"once: {sum(counts.values())} files: {counts.get('stored', 0)} stored, "
            f"{counts.get('duplicate', 0)} duplicate, {counts.get('rejected', 0)} rejected, "
            f"{failed} failed in {self._clock() - self.started:.1f}s"
        )
        if self.left:
            why = "interrupted" if interrupted else f"no progress for {self.stall_s:.0f}s"
            names = ", ".join(printable(n) for n in sorted(self.left.values())[:SHOWN_LEFT])
            more = ", ..." if len(self.left) > SHOWN_LEFT else ""
            console.say(
                f"once: {why}: {len(self.left)} of the {len(self.items)} files of the start "
                f"have no fate yet ({names}{more}); the next run takes them"
            )
        return 0 if failed == 0 and not self.left else 1

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = db.connect(self.database_url, autocommit=True, connect_timeout=5)
        return self._conn

    def _counts(self) -> dict[str, int]:
        return fates_since(self._connection(), self.since)

    def _count_finished(self) -> int | None:
        try:
            return sum(self._counts().values())
        except (psycopg.Error, IngestError):
            self.close()  # reconnect at the next look; meanwhile no news
            return None


def _look(settings: Settings, *, start: bool) -> Items:
    """What is in the inbox and the spool now. At the start: only what the watcher
    will take; later, everything (a start item is done when it is gone from both)."""
    if settings.inbox_is_s3:
        return _objects(settings)
    inbox = _inbox(settings, start=start)  # first: a file claimed meanwhile is in the spool
    return {**inbox, **_spool(settings)}


def _inbox(settings: Settings, *, start: bool) -> Items:
    try:
        inbox = open_root(settings.inbox_dir)
    except OSError:
        return {}
    try:
        entries = [(relative, snap.ino) for relative, snap in scan(inbox)]
    finally:
        os.close(inbox)
    if start:
        markers = Markers(settings.completion_marker)
        names = {relative for relative, _ino in entries}
        required = settings.completion_marker == "required"
        entries = [
            (relative, ino)
            for relative, ino in entries
            if markers.wanted(relative) and (not required or _marked(relative, names))
        ]
    return {f"{ino}:{relative}": relative for relative, ino in entries}


def _marked(relative: str, names: set[str]) -> bool:
    """Whether a completion marker says the file is complete: `x.done` beside it, or
    `_SUCCESS` in its folder or a folder above."""
    if relative + DONE_SUFFIX in names:
        return True
    folders = relative.split("/")[:-1]
    return any(
        "/".join([*folders[:depth], FOLDER_MARKER]) in names for depth in range(len(folders) + 1)
    )


def _spool(settings: Settings) -> Items:
    try:
        spool = open_root(settings.spool_dir)
    except OSError:
        return {}
    found: Items = {}
    try:
        for claim in pending_claims(spool):
            with contextlib.suppress(OSError, LinkInPath, InvalidClaim):
                found[f"{lstat_claimed(spool, claim).st_ino}:{claim.name}"] = claim.name
    finally:
        os.close(spool)
    return found


def _objects(settings: Settings) -> Items:
    """Claims of the objects under the inbox prefix, then of those in the spool prefix."""
    s3 = client(settings.s3_endpoint_url)
    inbox = inbox_claims(s3, Location.parse(settings.inbox_location))
    spooled = spool_claims(s3, Location.parse(settings.files_location))
    return {c.claim_id: c.name for c in (*inbox, *spooled)}
