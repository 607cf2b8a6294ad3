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

from worker.files.capacity import reason
from worker.settings import Settings

log = logging.getLogger(__name__)

CHECK_S = 1.0


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
