"""Micro-batches of claims to the broker, from a thread of their own.

Whatever is claimed within `linger_s` goes out as one task, up to `max_files`;
while the broker is down the batch waits and is sent again with a growing
pause. At shutdown whatever could not be sent stays in the spool, and the next
start publishes it (catch-up).
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
import time
from collections.abc import Callable

from worker.files.claims import Claim

log = logging.getLogger(__name__)

Publish = Callable[[list[Claim]], None]


class Publisher:
    def __init__(
        self,
        publish: Publish,
        *,
        linger_s: float,
        max_files: int,
        on_sent: Callable[[list[Claim]], None],
    ) -> None:
        self._publish = publish
        self._linger = linger_s
        self._max = max_files
        self._on_sent = on_sent
        # Lists of claims: one hand-over per claiming round, not one per file.
        self._claims: queue.SimpleQueue[list[Claim] | None] = queue.SimpleQueue()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name="publisher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def put(self, claims: list[Claim]) -> None:
        if claims:
            self._claims.put(claims)

    def close(self) -> None:
        """Send what is queued (unless the broker is down), then stop."""
        self._closing.set()
        self._claims.put(None)
        self._thread.join()

    def _run(self) -> None:
        pending: collections.deque[Claim] = collections.deque()
        closing = False
        while not closing or pending:
            if not pending:
                first = self._claims.get()
                if first is None:
                    break
                pending.extend(first)
            deadline = time.monotonic() + self._linger
            while len(pending) < self._max and not closing:
                try:
                    more = self._claims.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if more is None:
                    closing = True
                else:
                    pending.extend(more)
            # A deque: a burst of claims is sent off in batches without copying the rest.
            batch = [pending.popleft() for _ in range(min(self._max, len(pending)))]
            self._send(batch)

    def _send(self, batch: list[Claim]) -> None:
        delay = 0.5
        while True:
            try:
                self._publish(batch)
            except Exception as exc:
                if self._closing.is_set():
                    log.warning(
                        "broker unavailable at shutdown; %d claimed files stay in the spool "
                        "for the next start",
                        len(batch),
                    )
                    return
                log.warning(
                    "broker unavailable (%s); %d files wait, retry in %.1fs", exc, len(batch), delay
                )
                time.sleep(delay)
                delay = min(delay * 2, 10.0)
            else:
                self._on_sent(batch)
                return
