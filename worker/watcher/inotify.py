"""inotify through watchdog's own reader, without its observer, emitter and dispatcher threads.

watchdog's observer hands every event through three threads and a queue
that de-duplicates by scanning (a third of the watcher's time in a burst).
We read raw events from watchdog's `InotifyFD` in one thread of our own, ask
the kernel only for what readiness uses (closes after writing, moves, creates,
deletes: no opens, reads, attribute changes or writes), and hand each read's
events to the watcher as one list of (kind, relative path).

Every folder under the inbox is watched, never through a link
(IN_DONT_FOLLOW | IN_ONLYDIR); junk and hidden folders (our files folder
among them) are not watched at all. Linux only: elsewhere, use polling mode.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
from pathlib import Path

from watchdog.observers.inotify_c import CallbackId, InotifyEvent, InotifyFD, Mask, WatchDescriptor
from watchdog.observers.inotify_c import InotifyConstants as C

from worker.files.claims import is_junk

log = logging.getLogger(__name__)

Event = tuple[str, str]  # (kind, path relative to the inbox)
CLOSED, CHANGED, GONE, DIR, DIR_GONE, OVERFLOW = (
    "closed",
    "changed",
    "gone",
    "dir",
    "dir_gone",
    "overflow",
)

MASK = Mask(
    C.IN_CLOSE_WRITE
    | C.IN_MOVED_TO
    | C.IN_MOVED_FROM
    | C.IN_CREATE
    | C.IN_DELETE
    | C.IN_ONLYDIR
    | C.IN_DONT_FOLLOW
    | C.IN_EXCL_UNLINK
)


class _Unused:
    """InotifyFD wants a callback per watch; we read the events ourselves."""

    def on_event(self, event: InotifyEvent) -> None:
        return None

    def on_watch_deleted(self, wd: int) -> None:
        return None

    def on_queue_overflow(self) -> None:
        return None


class Inotify:
    def __init__(
        self, root: Path, events: queue.SimpleQueue[list[Event]], exclude: Path | None = None
    ) -> None:
        self.root = root
        self.events = events
        self.exclude = exclude  # our files folder, when it lies in the inbox under a plain name
        self._fd = InotifyFD()  # our own instance, never started as watchdog's thread
        self._folders: dict[int, str] = {}  # watch descriptor -> folder relative to the inbox
        self._watches: dict[str, int] = {}
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, name="inotify", daemon=True)

    def start(self) -> None:
        self.watch_tree("")
        self._thread.start()

    def close(self) -> None:
        self._fd.close()
        self._thread.join(timeout=5)

    def watch_tree(self, relative: str) -> None:
        """Watch a folder and every folder below it (not through links, not junk)."""
        top = self.root / relative if relative else self.root
        for folder, dirs, _files in os.walk(top):
            dirs[:] = [d for d in dirs if self._wanted(f"{folder}/{d}", d)]
            rel = os.path.relpath(folder, self.root)
            self._watch("" if rel == "." else rel)

    def _wanted(self, path: str, name: str) -> bool:
        if is_junk(name) or os.path.islink(path):
            return False
        return self.exclude is None or Path(path) != self.exclude

    def forget_tree(self, relative: str) -> None:
        """A folder moved away or deleted: stop following it and everything below."""
        with self._lock:
            gone = [
                (wd, rel)
                for rel, wd in self._watches.items()
                if rel == relative or rel.startswith(relative + "/")
            ]
            for wd, rel in gone:
                self._watches.pop(rel, None)
                self._folders.pop(wd, None)
        with contextlib.suppress(OSError):
            self._fd.remove_callbacks([(WatchDescriptor(wd), CallbackId(0)) for wd, _rel in gone])

    def _watch(self, relative: str) -> None:
        with self._lock:
            if relative in self._watches:
                return
        path = self.root / relative if relative else self.root
        try:
            wd = self._fd.add_callback(os.fsencode(path), MASK, _Unused(), CallbackId(0))
        except OSError as exc:
            log.warning("cannot watch %s (%s); the rescan covers it", path, exc)
            return
        with self._lock:
            self._folders[wd] = relative
            self._watches[relative] = wd

    def _read(self) -> None:
        while True:
            try:
                raw = self._fd.read_events()
            except OSError:
                return
            if not raw:
                return  # closed
            batch: list[Event] = []
            for event in raw:
                self._one(event, batch)
            if batch:
                self.events.put(batch)

    def _one(self, event: InotifyEvent, out: list[Event]) -> None:
        mask = event.mask
        if mask & C.IN_Q_OVERFLOW:
            out.append((OVERFLOW, ""))
            return
        if mask & C.IN_IGNORED:
            self._fd.handle_event(event)  # watchdog's own bookkeeping of removed watches
            return
        with self._lock:
            folder = self._folders.get(event.wd)
        if folder is None or not event.name:
            return
        name = os.fsdecode(event.name)
        relative = f"{folder}/{name}" if folder else name
        if mask & C.IN_ISDIR:
            if mask & (C.IN_CREATE | C.IN_MOVED_TO):
                out.append((DIR, relative))
            else:
                out.append((DIR_GONE, relative))
        elif mask & (C.IN_CLOSE_WRITE | C.IN_MOVED_TO):
            out.append((CLOSED, relative))
        elif mask & C.IN_CREATE:
            out.append((CHANGED, relative))
        else:
            out.append((GONE, relative))
