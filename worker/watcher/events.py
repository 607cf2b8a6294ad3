"""inotify events through watchdog, reduced to what readiness needs and queued at once.

The handler does nothing but queue: watchdog's thread must never wait on us.
The kernel is asked only for the events readiness uses (no opens, reads or
attribute changes), and watchdog's move pairing is off: a move is "gone"
plus "ready" to us anyway, and pairing held every event behind each claim.
"""

from __future__ import annotations

import os
import queue
import sys

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
from watchdog.observers.api import BaseObserver

Event = tuple[str, str]  # (kind, absolute path): kinds below
CLOSED, CHANGED, GONE, DIR, DIR_GONE = "closed", "changed", "gone", "dir", "dir_gone"

FILTER: list[type[FileSystemEvent]] = [
    FileClosedEvent,
    FileMovedEvent,
    FileCreatedEvent,
    FileModifiedEvent,
    FileDeletedEvent,
    DirCreatedEvent,
    DirMovedEvent,
    DirDeletedEvent,
]


class Queueing(FileSystemEventHandler):
    def __init__(self, events: queue.SimpleQueue[Event]) -> None:
        self.events = events

    def on_any_event(self, event: FileSystemEvent) -> None:
        kind, put = type(event), self.events.put
        src, dest = os.fsdecode(event.src_path), os.fsdecode(event.dest_path)
        if kind is FileClosedEvent:
            put((CLOSED, src))
        elif kind is FileMovedEvent:
            if dest:
                put((CLOSED, dest))
            if src:
                put((GONE, src))
        elif kind is FileCreatedEvent or kind is FileModifiedEvent:
            put((CHANGED, src))
        elif kind is FileDeletedEvent:
            put((GONE, src))
        elif kind is DirCreatedEvent:
            put((DIR, src))
        elif kind is DirMovedEvent:
            if dest:
                put((DIR, dest))
            if src:
                put((DIR_GONE, src))
        elif kind is DirDeletedEvent:
            put((DIR_GONE, src))


def observer() -> BaseObserver:
    """watchdog's inotify observer (the native one elsewhere: it reports no closes)."""
    if sys.platform.startswith("linux"):
        from watchdog.observers.inotify import InotifyObserver
        from watchdog.observers.inotify_move_event_grouper import InotifyMoveEventGrouper

        InotifyMoveEventGrouper.delay = 0.0
        return InotifyObserver(generate_full_events=True)
    from watchdog.observers import Observer

    return Observer()


def reports_closes() -> bool:
    return sys.platform.startswith("linux")
