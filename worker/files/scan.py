"""A look at every entry of the inbox that never follows a link, the top included.

Folders are opened one by one from the inbox's descriptor with O_NOFOLLOW, so
a symbolic link to a folder is an entry to claim (and reject), never a folder
to enter; junk and hidden names, our own files folder among them, are skipped.

The walk is depth first and holds one open folder per level, never one per
folder found: thousands of (empty) folders dropped side by side must not run
the process out of file descriptors, which would hide the files of every
folder it could no longer open.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator

from worker.files.claims import is_junk
from worker.files.safe import DIR_FLAGS, LinkInPath, lstat_at, open_dir
from worker.files.spool import Snapshot

_Listing = list[tuple[str, os.stat_result]]


def scan(inbox: int, under: tuple[str, ...] = ()) -> Iterator[tuple[str, Snapshot]]:
    """(relative path, snapshot) of every file-like entry at or below inbox/under."""
    try:
        top = open_dir(inbox, under) if under else os.open(".", DIR_FLAGS, dir_fd=inbox)
    except (OSError, LinkInPath):
        return
    frames: list[tuple[tuple[str, ...], int, _Listing]] = [(under, top, _listing(top))]
    try:
        while frames:
            parts, fd, entries = frames[-1]
            if not entries:
                frames.pop()
                os.close(fd)
                continue
            name, info = entries.pop()
            if is_junk(name):
                continue
            relative = "/".join((*parts, name))
            if not stat.S_ISDIR(info.st_mode):
                yield relative, Snapshot.of(info)
                continue
            try:
                child = os.open(name, DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):  # swapped for a link just now
                    with contextlib.suppress(OSError):
                        yield relative, Snapshot.of(lstat_at(fd, name))
                continue
            frames.append(((*parts, name), child, _listing(child)))
    finally:
        for _parts, fd, _entries in frames:
            os.close(fd)


def _listing(fd: int) -> _Listing:
    try:
        with os.scandir(fd) as entries:
            return [(e.name, e.stat(follow_symlinks=False)) for e in entries]
    except OSError:
        return []
