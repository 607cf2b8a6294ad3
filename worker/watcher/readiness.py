"""When is an inbox entry complete? Pure bookkeeping over a clock and a stat function.

- Told it was closed after writing, or moved in: ready `settle_s` later if
  its size, modification time and inode did not change meanwhile.
- Told it was created or modified: where the events report closes (inotify),
  it is open for writing: it waits for its close. Elsewhere it is ready once
  two looks `unknown_s` apart agree.
- Found by a scan (start-up, safety-net rescan, a folder moved in, polling):
  ready once two looks `unknown_s` apart agree. One seen open for a whole
  `quiet_s` without any change is looked at again: a close was missed.
- Marked complete by its producer (a completion marker): ready `settle_s`
  later, however long it was open; with markers required, nothing else is.

What a stat cannot see, a writer that holds the file open but pauses, is the
claim's business (a read lease); `busy` puts such an entry back to wait.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable
from dataclasses import dataclass

from worker.files.spool import Snapshot

Stat = Callable[[str], Snapshot | None]
Clock = Callable[[], float]


@dataclass(slots=True)
class _Entry:
    snap: Snapshot
    due: float | None  # None: open for writing, waits for its close
    version: int
    since: float  # when its snapshot last changed
    marked: bool = False


class Readiness:
    def __init__(
        self,
        stat: Stat,
        *,
        settle_s: float,
        unknown_s: float,
        quiet_s: float,
        reports_closes: bool,
        require_marker: bool = False,
        clock: Clock = time.monotonic,
    ) -> None:
        self._stat = stat
        self._clock = clock
        self.settle_s = settle_s
        self.unknown_s = unknown_s
        self.quiet_s = quiet_s
        self.reports_closes = reports_closes
        self.require_marker = require_marker
        self._entries: dict[str, _Entry] = {}
        self._heap: list[tuple[float, int, str]] = []
        self._version = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, path: str) -> bool:
        return path in self._entries

    # -- what the events and scans say --------------------------------------

    def closed(self, path: str) -> None:
        self._schedule(path, self.settle_s)

    def changed(self, path: str) -> None:
        if not self.reports_closes:
            self._schedule(path, self.unknown_s)
            return
        snap = self._stat(path)
        if snap is None:
            self.gone(path)
            return
        entry = self._entries.get(path)
        if entry is not None and entry.due is not None and entry.snap == snap:
            return  # an event for a file already found complete and not written since
        if not snap.regular:
            self._schedule(path, self.settle_s)  # links, pipes: never "closed after writing"
            return
        self._wait_for_close(path, snap, entry)

    def gone(self, path: str) -> None:
        self._entries.pop(path, None)

    def found(self, path: str) -> None:
        entry = self._entries.get(path)
        if entry is None:
            self._schedule(path, self.unknown_s)
        elif entry.due is None and self._clock() - entry.since >= self.quiet_s:
            snap = self._stat(path)
            if snap == entry.snap:
                self._schedule(path, self.settle_s)  # open all this time, unchanged
            elif snap is None:
                self.gone(path)
            else:
                self._wait_for_close(path, snap, entry)

    def marked(self, path: str) -> None:
        self._schedule(path, self.settle_s, marked=True)

    def busy(self, path: str) -> None:
        """The claim found a writer: wait for its close (or look again later)."""
        snap = self._stat(path)
        if snap is None:
            self.gone(path)
        elif self.reports_closes:
            self._wait_for_close(path, snap, self._entries.get(path))
        else:
            self._schedule(path, self.unknown_s)

    # -- what is ready --------------------------------------------------------

    def next_due(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def take_due(self, limit: int | None = None) -> list[tuple[str, Snapshot]]:
        """Entries whose time has come and that did not change: claim them now (at most
        `limit`; the others stay due)."""
        now = self._clock()
        ready: list[tuple[str, Snapshot]] = []
        while self._heap and self._heap[0][0] <= now and (limit is None or len(ready) < limit):
            _due, version, path = heapq.heappop(self._heap)
            entry = self._entries.get(path)
            if entry is None or entry.version != version:
                continue  # superseded by a later event
            snap = self._stat(path)
            if snap is None:
                del self._entries[path]
            elif snap != entry.snap:
                delay = self.settle_s if self.reports_closes else self.unknown_s
                self._schedule(path, delay, marked=entry.marked)
            elif self.require_marker and not entry.marked:
                entry.due = None  # waits for its marker
            else:
                del self._entries[path]
                ready.append((path, snap))
        return ready

    # -- bookkeeping ----------------------------------------------------------

    def _schedule(self, path: str, delay: float, *, marked: bool = False) -> None:
        snap = self._stat(path)
        if snap is None:
            self._entries.pop(path, None)
            return
        old = self._entries.get(path)
        self._version += 1
        now = self._clock()
        due = now + delay
        since = old.since if old is not None and old.snap == snap else now
        was_marked = marked or (old is not None and old.marked)
        self._entries[path] = _Entry(snap, due, self._version, since, was_marked)
        heapq.heappush(self._heap, (due, self._version, path))

    def _wait_for_close(self, path: str, snap: Snapshot, old: _Entry | None) -> None:
        unchanged = old is not None and old.snap == snap
        since = old.since if old is not None and unchanged else self._clock()
        self._version += 1
        marked = old is not None and old.marked
        self._entries[path] = _Entry(snap, None, self._version, since, marked)
