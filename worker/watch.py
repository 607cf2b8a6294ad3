"""The watcher: notice complete files, claim them, hand them to Celery in micro-batches.

It never parses. The watchdog handler only queues events; one thread decides
readiness and claims, another publishes batches, so a burst of events never
makes the observer fall behind.

Readiness:
- events mode (inotify): a file is ready `settle_ms` after it was closed after
  writing or moved in, if its size and mtime did not change meanwhile. A file
  created or modified without a close is still open: it waits for the close.
- polling mode (network shares): ready once two polls agree on size and mtime.
- a rescan at start and every `rescan_interval_s` catches what events missed.
  Files found by a rescan or in a new folder (no close seen) wait a poll
  interval; a file open without change for a whole rescan interval is taken.

Delivery: a claim still in the spool `requeue_after_s` after it was published
is published again (a broker that lost its queue, a worker killed with the
batch), with the wait doubling per claim so a slow backlog is not flooded.
Workers skip files that already have a fate, so a second copy is harmless.
"""

from __future__ import annotations

import heapq
import logging
import os
import queue
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers.api import BaseObserver, ObservedWatch
from watchdog.observers.polling import PollingObserver

from worker import metrics
from worker.inbox import Claim, claim, is_junk, pending_claims, spool_path
from worker.settings import Settings

log = logging.getLogger(__name__)

Publish = Callable[[list[Claim]], None]


@dataclass(slots=True)
class _Entry:
    size: int
    mtime_ns: int
    due: float | None  # None: still open for writing, wait for its close
    version: int = 0
    since: float = 0.0  # when size/mtime last changed (open files)


# Only what readiness needs: the kernel then never sends opens, reads or attribute
# changes, and watchdog drops its own per-move folder-modified events early.
_EVENTS: list[type[FileSystemEvent]] = [
    FileClosedEvent,
    FileMovedEvent,
    FileCreatedEvent,
    FileModifiedEvent,
    FileDeletedEvent,
    DirCreatedEvent,
    DirMovedEvent,
    DirDeletedEvent,
]


class _Queueing(FileSystemEventHandler):
    """Does nothing but queue: watchdog's thread must never wait on us."""

    def __init__(self, events: queue.SimpleQueue[tuple[str, str]]) -> None:
        self.events = events

    def on_any_event(self, event: FileSystemEvent) -> None:
        kind = type(event)
        if kind is FileClosedEvent:
            self.events.put(("ready", _str(event.src_path)))
        elif kind is FileMovedEvent:
            if event.dest_path:
                self.events.put(("ready", _str(event.dest_path)))
            if event.src_path:
                self.events.put(("gone", _str(event.src_path)))
        elif kind in (FileCreatedEvent, FileModifiedEvent):
            self.events.put(("changed", _str(event.src_path)))
        elif kind is FileDeletedEvent:
            self.events.put(("gone", _str(event.src_path)))
        elif kind in (DirCreatedEvent, DirMovedEvent):
            path = event.dest_path if kind is DirMovedEvent else event.src_path
            if path:
                self.events.put(("dir", _str(path)))
            if kind is DirMovedEvent and event.src_path:
                self.events.put(("dir_gone", _str(event.src_path)))
        elif kind is DirDeletedEvent:
            self.events.put(("dir_gone", _str(event.src_path)))


def _str(path: str | bytes) -> str:
    return os.fsdecode(path)


def _is_regular(path: str) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return True  # gone: the due-time check drops it


def _observer(settings: Settings) -> tuple[BaseObserver, bool]:
    """The observer, and whether it reports closes (only inotify does)."""
    if settings.watch_mode == "polling":
        return PollingObserver(timeout=settings.poll_interval_s), False
    if sys.platform.startswith("linux"):
        from watchdog.observers.inotify import InotifyObserver
        from watchdog.observers.inotify_move_event_grouper import InotifyMoveEventGrouper

        # watchdog holds every unpaired IN_MOVED_FROM for 0.5 s to pair it with its
        # IN_MOVED_TO, blocking all events queued behind it; each claim is such a move.
        # We treat a move as "gone" plus "ready" anyway, so pairing buys nothing.
        InotifyMoveEventGrouper.delay = 0.0
        return InotifyObserver(generate_full_events=True), True
    from watchdog.observers import Observer

    return Observer(), False


class Watcher:
    def __init__(self, settings: Settings, publish: Publish) -> None:
        self.settings = settings
        self.inbox = settings.inbox_dir
        self.spool = settings.spool_dir
        self.work_dir = settings.work_dir
        self._publish = publish
        self._events: queue.SimpleQueue[tuple[str, str]] = queue.SimpleQueue()
        # Lists of claims: one hand-over per claiming round, not one per file.
        self._claims: queue.SimpleQueue[list[Claim] | None] = queue.SimpleQueue()
        self._entries: dict[str, _Entry] = {}
        self._heap: list[tuple[float, int, str]] = []
        self._version = 0
        self._settle = settings.settle_ms / 1000
        self._prefix = str(self.inbox) + os.sep
        # Quiet time for a file no close/move told us about (rescan, new folder, polling).
        self._unknown = settings.poll_interval_s + self._settle
        # (due, seq, times published, claim) of published claims, for the spool sweep.
        self._published: list[tuple[float, int, int, Claim]] = []
        self._published_lock = threading.Lock()
        self._published_seq = 0
        self._times: dict[str, int] = {}  # claim_id -> publications so far, for re-publishing
        self.ready = threading.Event()
        self._stopping = threading.Event()
        self.requeued = 0  # claims the spool sweep published again (tests read it)

    # -- public ----------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Watch until `stop` is set; then publish every claim made and return."""
        self.inbox.mkdir(parents=True, exist_ok=True)
        self.spool.mkdir(parents=True, exist_ok=True)
        observer, has_closes = _observer(self.settings)
        self._has_closes = has_closes
        self._observer = observer
        self._handler = _Queueing(self._events)
        self._watched: dict[str, ObservedWatch] = {}
        # The root alone, then each top-level folder recursively: our own folder
        # (<inbox>/.ingest: spool, outcomes) stays unwatched, so its churn costs nothing.
        observer.schedule(self._handler, str(self.inbox), recursive=False, event_filter=_EVENTS)
        for entry in os.scandir(self.inbox):
            if entry.is_dir(follow_symlinks=False):
                self._watch_folder(entry.path)
        observer.start()
        publisher = threading.Thread(target=self._publisher, name="publisher", daemon=True)
        publisher.start()
        try:
            backlog = pending_claims(self.spool)
            if backlog:
                self._claims.put(backlog)
                log.info("re-enqueueing %d claimed files without a fate", len(backlog))
            self._rescan()
            self.ready.set()
            self._loop(stop)
        finally:
            observer.stop()
            self._stopping.set()
            self._claims.put(None)
            publisher.join()
            observer.join(timeout=5)

    # -- readiness and claiming -----------------------------------------

    def _loop(self, stop: threading.Event) -> None:
        next_rescan = time.monotonic() + self.settings.rescan_interval_s
        while not stop.is_set():
            now = time.monotonic()
            timeout = min(0.2, next_rescan - now)
            if self._heap:
                timeout = min(timeout, self._heap[0][0] - now)
            try:
                kind, path = self._events.get(timeout=max(0.0, timeout))
                self._on_event(kind, path)
                while True:  # drain the burst before claiming
                    kind, path = self._events.get_nowait()
                    self._on_event(kind, path)
            except queue.Empty:
                pass
            self._claim_due()
            self._sweep()
            if time.monotonic() >= next_rescan:
                self._rescan()
                next_rescan = time.monotonic() + self.settings.rescan_interval_s

    def _on_event(self, kind: str, path: str) -> None:
        try:
            if kind == "dir_gone":
                watch = self._watched.pop(path, None)
                if watch is not None:
                    self._observer.unschedule(watch)
                return
            if kind == "dir":
                if os.path.dirname(path) == str(self.inbox):
                    self._watch_folder(path)
                for file_path in self._walk(Path(path)):
                    self._schedule(str(file_path), self._unknown)
                return
            if not self._wanted(path):
                return
            if kind == "gone":
                self._entries.pop(path, None)
            elif kind == "ready":
                self._schedule(path, self._settle)
            elif kind == "changed":
                if not self._has_closes:
                    self._schedule(path, self._unknown)
                elif not _is_regular(path):
                    # Links, pipes, sockets are never "closed after writing": take them as they are.
                    self._schedule(path, self._settle)
                elif not self._unchanged_pending(path):
                    self._mark_open(path)
        except Exception:
            log.exception("watcher: error handling %s event for %s", kind, path)

    def _watch_folder(self, path: str) -> None:
        if path in self._watched or is_junk(os.path.basename(path)):
            return
        if self.work_dir == Path(path) or self.work_dir in Path(path).parents:
            return
        self._watched[path] = self._observer.schedule(
            self._handler, path, recursive=True, event_filter=_EVENTS
        )

    def _wanted(self, path: str) -> bool:
        # Plain string work: this runs for every event of a burst.
        if not path.startswith(self._prefix):
            return False
        return not is_junk(path[len(self._prefix) :])

    def _snapshot(self, path: str) -> tuple[int, int] | None:
        try:
            info = os.lstat(path)
        except OSError:
            return None
        return info.st_size, info.st_mtime_ns

    def _schedule(self, path: str, delay: float) -> None:
        snap = self._snapshot(path)
        if snap is None:
            self._entries.pop(path, None)
            return
        self._version += 1
        due = time.monotonic() + delay
        self._entries[path] = _Entry(snap[0], snap[1], due, self._version)
        heapq.heappush(self._heap, (due, self._version, path))

    def _unchanged_pending(self, path: str) -> bool:
        # A created event for a file already found complete and not written since
        # (watchdog's synthetic events for a folder's content): no close will follow.
        entry = self._entries.get(path)
        return (
            entry is not None
            and entry.due is not None
            and self._snapshot(path) == (entry.size, entry.mtime_ns)
        )

    def _mark_open(self, path: str) -> None:
        snap = self._snapshot(path)
        if snap is not None:
            old = self._entries.get(path)
            unchanged = old is not None and (old.size, old.mtime_ns) == snap
            since = old.since if old is not None and unchanged else time.monotonic()
            self._version += 1
            self._entries[path] = _Entry(snap[0], snap[1], None, self._version, since)

    def _claim_due(self) -> None:
        now = time.monotonic()
        taken: list[Claim] = []
        while self._heap and self._heap[0][0] <= now:
            _due, version, path = heapq.heappop(self._heap)
            entry = self._entries.get(path)
            if entry is None or entry.version != version:
                continue  # superseded by a later event
            snap = self._snapshot(path)
            if snap is None:
                del self._entries[path]
            elif snap != (entry.size, entry.mtime_ns):  # still changing
                self._schedule(path, self._settle if self._has_closes else self._unknown)
            else:
                del self._entries[path]
                item = self._claim(path)
                if item is not None:
                    taken.append(item)
        if taken:
            self._claims.put(taken)

    def _claim(self, path: str) -> Claim | None:
        metrics.FILES_RECEIVED.inc()
        try:
            taken = claim(self.inbox, self.spool, Path(path))
        except Exception:
            log.exception("watcher: could not claim %s", path)
            return None
        if taken is not None:
            metrics.FILES_CLAIMED.inc()
            log.debug("claimed %s as %s", taken.name, taken.claim_id)
        return taken

    def _rescan(self) -> None:
        """Catch-up and safety net: every file in the inbox that no event told us about."""
        quiet_since = time.monotonic() - self.settings.rescan_interval_s
        for file_path in self._walk(self.inbox):
            path = str(file_path)
            entry = self._entries.get(path)
            if entry is None:
                self._schedule(path, self._unknown)
            elif (
                entry.due is None
                and entry.since <= quiet_since
                and self._snapshot(path) == (entry.size, entry.mtime_ns)
            ):
                # Open for a whole rescan interval without any change: a close was missed.
                self._schedule(path, self._settle)

    def _walk(self, top: Path) -> Iterator[Path]:
        for root, dirs, files in os.walk(top):
            # A link to a folder is an entry to judge (and reject), not a folder to enter.
            files = files + [d for d in dirs if os.path.islink(os.path.join(root, d))]
            dirs[:] = [d for d in dirs if not is_junk(d) and d not in files]
            for name in files:
                path = Path(root) / name
                if self._wanted(str(path)):
                    yield path

    # -- publishing ------------------------------------------------------

    def _publisher(self) -> None:
        """Micro-batches: whatever is claimed within `batch_linger_ms`, up to the max size."""
        linger = self.settings.batch_linger_ms / 1000
        limit = self.settings.batch_max_files
        pending: list[Claim] = []
        closing = False
        while not closing or pending:
            if not pending:
                first = self._claims.get()
                if first is None:
                    break
                pending = first
            deadline = time.monotonic() + linger
            while len(pending) < limit and not closing:
                try:
                    more = self._claims.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if more is None:
                    closing = True
                else:
                    pending.extend(more)
            batch, pending = pending[:limit], pending[limit:]
            self._send(batch)

    def _send(self, batch: list[Claim]) -> None:
        delay = 0.5
        while True:
            try:
                self._publish(batch)
                metrics.FILES_PUBLISHED.inc(len(batch))
                self._remember(batch)
                return
            except Exception as exc:
                if self._stopping.is_set():
                    # The files stay in the spool; the next start re-enqueues them.
                    log.warning(
                        "broker unavailable at shutdown; %d claimed files stay in "
                        "the spool for the next start",
                        len(batch),
                    )
                    return
                log.warning(
                    "broker unavailable (%s); %d files wait, retry in %.1fs", exc, len(batch), delay
                )
                time.sleep(delay)
                delay = min(delay * 2, 10.0)

    # -- spool sweep -----------------------------------------------------

    def _remember(self, batch: list[Claim]) -> None:
        after = self.settings.requeue_after_s
        if after <= 0:
            return
        now = time.monotonic()
        with self._published_lock:
            for item in batch:
                times = self._times.pop(item.claim_id, 0) + 1
                self._published_seq += 1
                due = now + after * 2 ** min(times - 1, 6)
                heapq.heappush(self._published, (due, self._published_seq, times, item))

    def _sweep(self) -> None:
        """Publish again what is still in the spool long after it was published."""
        now = time.monotonic()
        due: list[tuple[int, Claim]] = []
        with self._published_lock:
            while self._published and self._published[0][0] <= now:
                _due, _seq, times, item = heapq.heappop(self._published)
                due.append((times, item))
        again = 0
        for times, item in due:
            if os.path.lexists(spool_path(self.spool, item)):
                log.debug("claim %s (%s): no fate yet, publishing again", item.claim_id, item.name)
                self._times[item.claim_id] = times
                self._claims.put([item])
                again += 1
        if again:
            self.requeued += again
            log.info("spool sweep: %d claims without a fate published again", again)
