"""The folder watcher: notice complete files, claim them, hand them to the publisher.

It never parses. Events (inotify, through watchdog) or periodic scans
(polling mode, for network shares) feed `Readiness`; a ready entry is claimed
into the spool (`worker.files.spool.claim`: no link followed, no file taken
while a writer holds it) and queued for the publisher. A rescan at start and
every `rescan_interval_s` catches what events missed; the spool sweep
publishes again what a lost queue dropped. Claiming pauses while the files
folder's disk is nearly full or while more than `max_queued_files` claims wait
for a fate (back-pressure), and says so.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time

from worker import metrics
from worker.constants import SPOOL_FOLDER
from worker.files.claims import Claim
from worker.files.safe import LinkInPath, open_dir, open_root
from worker.files.scan import scan
from worker.files.spool import Taken, claim, lstat_claimed, pending_claims, snapshot
from worker.logs import printable
from worker.settings import Settings
from worker.watcher import markers
from worker.watcher.holdback import Holdback
from worker.watcher.inotify import (
    CLOSED,
    DIR,
    DIR_GONE,
    GONE,
    OVERFLOW,
    Event,
    Inotify,
)
from worker.watcher.publisher import Publish, Publisher
from worker.watcher.readiness import Readiness
from worker.watcher.sweep import Sweep

log = logging.getLogger(__name__)

TICK_S = 0.2


class FolderWatcher:
    def __init__(self, settings: Settings, publish: Publish) -> None:
        self.settings = settings
        self.ready = threading.Event()  # the first look at the inbox is done
        self._events: queue.SimpleQueue[list[Event]] = queue.SimpleQueue()
        self._overflowed = False
        self._inbox = open_root(settings.inbox_dir)
        # Through the files folder's descriptor: no link on the way is followed.
        files = open_root(settings.work_dir)
        try:
            self._spool = open_dir(files, [SPOOL_FOLDER])
        finally:
            os.close(files)
        polling = settings.watch_mode == "polling"
        self._closes = not polling
        self.readiness = Readiness(
            lambda rel: snapshot(self._inbox, rel),
            settle_s=settings.settle_ms / 1000,
            unknown_s=settings.poll_stable_s if polling else settings.poll_interval_s,
            quiet_s=settings.rescan_interval_s,
            reports_closes=self._closes,
            require_marker=settings.completion_marker == "required",
        )
        self.markers = markers.Markers(settings.completion_marker)
        self.sweep = Sweep(settings.requeue_after_s, self._in_spool)
        self.holdback = Holdback(settings)
        self.publisher = Publisher(
            publish,
            linger_s=settings.batch_linger_ms / 1000,
            max_files=settings.batch_max_files,
            on_sent=self._sent,
        )
        self._known: set[str] = set()  # polling: what the last scan saw
        self._capped = False  # the last claiming round stopped at the back-pressure limit

    def run(self, stop: threading.Event) -> None:
        """Watch until `stop` is set; then publish every claim made and return."""
        inotify = None
        if self.settings.watch_mode == "events":
            work = self.settings.work_dir
            inside = self.settings.inbox_dir in work.parents
            inotify = Inotify(self.settings.inbox_dir, self._events, work if inside else None)
            inotify.start()
        self.publisher.start()
        try:
            backlog = pending_claims(self._spool)
            if backlog:
                log.info("re-enqueueing %d claimed files without a fate", len(backlog))
                self.publisher.put(backlog)
            self._rescan()
            self.ready.set()
            self._loop(stop, inotify)
        finally:
            if inotify is not None:
                inotify.close()
            self.publisher.close()
            os.close(self._inbox)
            os.close(self._spool)

    # -- the loop ---------------------------------------------------------------

    def _loop(self, stop: threading.Event, inotify: Inotify | None) -> None:
        interval = (
            self.settings.poll_interval_s if inotify is None else self.settings.rescan_interval_s
        )
        next_scan = time.monotonic() + interval
        while not stop.is_set():
            now = time.monotonic()
            timeout = min(TICK_S, next_scan - now)
            due = self.readiness.next_due()
            if due is not None and not self._capped:  # capped: due entries wait for room
                timeout = min(timeout, due - now)
            try:
                batch = self._events.get(timeout=max(0.0, timeout))
                while True:  # drain the burst before claiming
                    for kind, relative in batch:
                        self._on_event(kind, relative, inotify)
                    batch = self._events.get_nowait()
            except queue.Empty:
                pass
            if self._overflowed:
                self._overflowed = False
                next_scan = 0.0  # events were lost: look at everything now
            self._claim_due()
            self.publisher.put(self.sweep.due())
            if time.monotonic() >= next_scan:
                self._rescan()
                next_scan = time.monotonic() + interval

    def _on_event(self, kind: str, relative: str, inotify: Inotify | None) -> None:
        try:
            if kind == DIR_GONE:
                if inotify is not None:
                    inotify.forget_tree(relative)
            elif kind == DIR:
                if inotify is not None:
                    inotify.watch_tree(relative)
                for rel, _snap in scan(self._inbox, tuple(relative.split("/"))):
                    self._found(rel)
            elif kind == OVERFLOW:
                log.warning("inotify's queue overflowed: events were lost; rescanning the inbox")
                self._overflowed = True
            elif (target := self.markers.target(relative)) is not None:
                if kind != GONE:
                    self._mark(target)
            elif not self.markers.wanted(relative):
                return
            elif kind == GONE:
                self.readiness.gone(relative)
            elif kind == CLOSED:
                self.readiness.closed(relative)
            else:
                self.readiness.changed(relative)
        except Exception:
            log.exception("watcher: error handling %s event for %s", kind, printable(relative))

    def _found(self, relative: str) -> None:
        if (target := self.markers.target(relative)) is not None:
            self._mark(target)
        elif self.markers.wanted(relative):
            self.readiness.found(relative)

    def _mark(self, target: str) -> None:
        """A completion marker names a file (`x.done`) or a whole folder (`_SUCCESS`)."""
        if target.endswith("/") or target == "":
            for rel, _snap in scan(self._inbox, tuple(p for p in target.split("/") if p)):
                if self.markers.wanted(rel):
                    self.readiness.marked(rel)
        else:
            self.readiness.marked(target)

    def _rescan(self) -> None:
        seen: set[str] = set()
        for rel, _snap in scan(self._inbox):
            seen.add(rel)
            self._found(rel)
        if not self._closes:
            for gone in self._known - seen:
                self.readiness.gone(gone)
            self._known = seen
        self.markers.tidy(self._inbox, seen)

    # -- claiming ---------------------------------------------------------------

    def _claim_due(self) -> None:
        room = self.holdback.room(self._spool)
        if room == 0:
            self._capped = True
            return
        taken: list[Claim] = []
        due = self.readiness.take_due(room)
        self._capped = room is not None and len(due) >= room  # more may be due: no hurry
        for relative, seen in due:
            metrics.FILES_RECEIVED.inc()
            try:
                state, item = claim(self._inbox, self._spool, relative.split("/"), seen)
            except LinkInPath:
                continue  # reached through a link: the rescan claims the link itself
            except Exception:
                log.exception("watcher: could not claim %s", printable(relative))
                continue
            if state is Taken.CLAIMED and item is not None:
                metrics.FILES_CLAIMED.inc()
                taken.append(item)
                self.markers.claimed(self._inbox, relative)
            elif state is Taken.BUSY:
                self.readiness.busy(relative)
            elif state is Taken.CHANGED:
                self.readiness.found(relative)
        self.holdback.claimed(len(taken))
        self.publisher.put(taken)

    def _sent(self, batch: list[Claim]) -> None:
        metrics.FILES_PUBLISHED.inc(len(batch))
        self.sweep.sent(batch)

    def _in_spool(self, item: Claim) -> bool:
        try:
            lstat_claimed(self._spool, item)
        except OSError:
            return False
        return True
