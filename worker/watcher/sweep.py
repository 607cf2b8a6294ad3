"""The spool sweep: a claim still in the spool long after it was published goes out again.

A broker that lost its queue, or a worker killed with the batch in hand,
leaves claims without a fate; workers skip files that already have one, so a
second copy is harmless. The wait doubles per claim, so a slow backlog is not
flooded with copies.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable

from worker.files.claims import Claim

MAX_DOUBLINGS = 6


class Sweep:
    def __init__(
        self,
        after_s: float,
        pending: Callable[[Claim], bool],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.after_s = after_s
        self._pending = pending  # is the claim still in the spool?
        self._clock = clock
        self._heap: list[tuple[float, int, int, Claim]] = []  # (due, seq, times sent, claim)
        self._lock = threading.Lock()
        self._seq = 0
        self._times: dict[str, int] = {}
        self.requeued = 0  # claims published again (tests read it)

    def sent(self, batch: list[Claim]) -> None:
        """Called from the publisher's thread after each batch."""
        if self.after_s <= 0:
            return
        now = self._clock()
        with self._lock:
            for item in batch:
                times = self._times.pop(item.claim_id, 0) + 1
                self._seq += 1
                due = now + self.after_s * 2 ** min(times - 1, MAX_DOUBLINGS)
                heapq.heappush(self._heap, (due, self._seq, times, item))

    def due(self) -> list[Claim]:
        """Claims to publish again now."""
        now = self._clock()
        found: list[tuple[int, Claim]] = []
        with self._lock:
            while self._heap and self._heap[0][0] <= now:
                _due, _seq, times, item = heapq.heappop(self._heap)
                found.append((times, item))
        again = [(times, item) for times, item in found if self._pending(item)]
        with self._lock:
            for times, item in again:
                self._times[item.claim_id] = times
        self.requeued += len(again)
        return [item for _times, item in again]
