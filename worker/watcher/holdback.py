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
import time
from collections.abc import Callable

from worker.files.capacity import reason, spool_count
from worker.settings import Settings

log = logging.getLogger(__name__)

CHECK_S = 1.0


class Holdback:
    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._clock = clock
        self._checked = float("-inf")
        self.why: str | None = None
        self._room: int | None = None  # claims left until the next check; None: no limit

    def holding(self, spool: int) -> bool:
        now = self._clock()
        if now - self._checked < CHECK_S:
            return self.why is not None
        self._checked = now
        limit = self.settings.max_queued_files
        self._room = max(0, limit - spool_count(spool, limit)) if limit else None
        why = reason(self.settings, spool)
        if why != self.why:
            if why is None:
                log.warning("claiming resumed")
            else:
                log.warning("claiming paused: %s", why)
            self.why = why
        return why is not None

    def room(self, spool: int) -> int | None:
        """How many files may be claimed now: 0 while holding back, None without a limit.

        A burst (100,000 files due at once) is claimed at most up to the limit; the
        rest waits in the inbox, due, until workers make room.
        """
        if self.holding(spool):
            return 0
        return self._room

    def claimed(self, count: int) -> None:
        if self._room is not None:
            self._room = max(0, self._room - count)
