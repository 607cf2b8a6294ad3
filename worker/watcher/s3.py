"""The S3 watcher: list the inbox prefix, publish a claim for every new object.

About once a second (`poll_interval_s`; with a long listing, four times as long
as the listing took) it lists the prefix; an object it has not published yet is
published (worker.objects.listing makes the claim: the same claim id from any
watcher, so several watchers on one bucket never make one object two files;
the ledger decides). What it published it remembers while the object is still
listed: a finished object leaves the prefix, and what stays long after its
publication goes out again through the Sweep (a lost queue, a killed
worker). At start, everything listed is published (catch-up), and so are the
claims `ingest retry` put in the spool prefix, which is listed again every
`rescan_interval_s`.

Back-pressure: while more than `max_queued_files` published objects wait for a
fate, new ones wait in the inbox, and the log says so. The store being
unreachable is logged once, then retried every round.
"""

from __future__ import annotations

import logging
import threading
import time

from worker import metrics
from worker.files.claims import Claim
from worker.objects.listing import inbox_claims, spool_claims
from worker.objects.location import Location
from worker.objects.store import StoreUnavailable, client
from worker.settings import Settings
from worker.watcher.publisher import Publish, Publisher
from worker.watcher.sweep import Sweep

log = logging.getLogger(__name__)

#: Between two listings, at least this many times as long as the last one took: a
#: backlog of many objects (each listed every round) costs the store at most a fifth.
LISTING_SHARE = 4.0


class S3Watcher:
    def __init__(self, settings: Settings, publish: Publish) -> None:
        self.settings = settings
        self.ready = threading.Event()  # the first look at the inbox is done
        self.inbox = Location.parse(settings.inbox_location)
        self.files = Location.parse(settings.files_location)
        self.s3 = client(settings.s3_endpoint_url)
        self._waiting: dict[str, Claim] = {}  # published and still listed
        self._listed: set[str] = set()  # claim ids of the last look
        self._spooled: list[Claim] = []
        self.sweep = Sweep(settings.requeue_after_s, lambda c: c.claim_id in self._listed)
        self.publisher = Publisher(
            publish,
            linger_s=settings.batch_linger_ms / 1000,
            max_files=settings.batch_max_files,
            on_sent=self._sent,
        )
        self.holding: str | None = None  # why new objects wait, if they do
        self._down: str | None = None

    def run(self, stop: threading.Event) -> None:
        """Watch until `stop` is set; then publish what is queued and return."""
        self.publisher.start()
        next_spool = 0.0
        try:
            while not stop.is_set():
                started = time.monotonic()
                with_spool = started >= next_spool
                self._look(with_spool)
                if with_spool and self._down is None:
                    next_spool = started + self.settings.rescan_interval_s
                self.ready.set()
                self.publisher.put(self.sweep.due())
                spent = time.monotonic() - started
                stop.wait(max(self.settings.poll_interval_s - spent, LISTING_SHARE * spent))
        finally:
            self.publisher.close()

    def _look(self, with_spool: bool) -> None:
        try:
            if with_spool:
                self._spooled = spool_claims(self.s3, self.files)
            listed = inbox_claims(self.s3, self.inbox) + self._spooled
        except StoreUnavailable as exc:
            if self._down is None:
                log.warning("object store unavailable: %s; listing again every round", exc)
            self._down = str(exc)
            return
        if self._down is not None:
            log.warning("object store reachable again")
            self._down = None
        self.found(listed)

    def found(self, listed: list[Claim]) -> None:
        """One complete listing: forget what left it, publish what is new."""
        self._listed = {c.claim_id for c in listed}
        self._waiting = {k: c for k, c in self._waiting.items() if k in self._listed}
        new = [c for c in listed if c.claim_id not in self._waiting]
        limit = self.settings.max_queued_files
        room = max(0, limit - len(self._waiting)) if limit else len(new)
        self._hold(
            None
            if room >= len(new)
            else f"more than max_queued_files ({limit}) published objects wait for a fate"
        )
        taken = new[:room]
        for item in taken:
            self._waiting[item.claim_id] = item
        metrics.FILES_RECEIVED.inc(len(taken))  # an object has no claim step of its own
        metrics.FILES_CLAIMED.inc(len(taken))
        self.publisher.put(taken)

    def _hold(self, why: str | None) -> None:
        if why != self.holding:
            if why is None:
                log.warning("publishing resumed")
            else:
                log.warning("publishing paused: %s; new objects wait in the inbox", why)
            self.holding = why

    def _sent(self, batch: list[Claim]) -> None:
        metrics.FILES_PUBLISHED.inc(len(batch))
        self.sweep.sent(batch)
