"""When the watcher stops claiming for a while, and says so.

- Back-pressure: more than `max_queued_files` claims wait for a fate (in the
  broker or in a worker's hands: the spool holds exactly those). Claiming
  resumes as workers drain them, so a million files dropped at once never sit
  in the broker's memory all together.
- A nearly full disk under the files folder (less than `min_free_mb`): a
  sidecar could not be written and an outcome could be half done; files wait
  in the inbox instead.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

from worker.settings import Settings

log = logging.getLogger(__name__)

CHECK_S = 1.0


def spool_count(spool: int, limit: int) -> int:
    """Entries in the spool, counting no further than `limit`."""
    count = 0
    with os.scandir(spool) as entries:
        for _entry in entries:
            count += 1
            if count > limit:
                break
    return count


def free_bytes(folder: int) -> int:
    info = os.fstatvfs(folder)
    return info.f_bavail * info.f_frsize


def reason(settings: Settings, spool: int) -> str | None:
    """Why claiming should pause now, or None."""
    limit = settings.max_queued_files
    if limit and spool_count(spool, limit) > limit:
        return f"more than max_queued_files ({limit}) claims wait for a fate"
    free = free_bytes(spool)
    if free < settings.min_free_mb * 1024 * 1024:
        return f"only {free // (1024 * 1024)} MiB free for the files folder (min_free_mb)"
    return None


class Holdback:
    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._clock = clock
        self._checked = float("-inf")
        self.why: str | None = None

    def holding(self, spool: int) -> bool:
        now = self._clock()
        if now - self._checked < CHECK_S:
            return self.why is not None
        self._checked = now
        why = reason(self.settings, spool)
        if why != self.why:
            if why is None:
                log.warning("claiming resumed")
            else:
                log.warning("claiming paused: %s", why)
            self.why = why
        return why is not None
