"""A look at every entry of the inbox that never follows a link, the top included.

Folders are opened one by one from the inbox's descriptor with O_NOFOLLOW, so
a symbolic link to a folder is an entry to claim (and reject), never a folder
to enter; junk and hidden names, our own files folder among them, are skipped.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator

from worker.files.claims import is_junk
from worker.files.safe import DIR_FLAGS, LinkInPath, lstat_at, opened_dir
from worker.files.spool import Snapshot


def scan(inbox: int, under: tuple[str, ...] = ()) -> Iterator[tuple[str, Snapshot]]:
    """(relative path, snapshot) of every file-like entry at or below inbox/under."""
    try:
        top = os.open(".", DIR_FLAGS, dir_fd=inbox) if not under else None
    except OSError:
        return
    stack: list[tuple[tuple[str, ...], int]] = []
    if top is not None:
        stack.append(((), top))
    else:
        try:
            with opened_dir(inbox, under) as fd:
                stack.append((under, os.dup(fd)))
        except (OSError, LinkInPath):
            return
    while stack:
        parts, fd = stack.pop()
        try:
            with os.scandir(fd) as entries:
                found = [(e.name, e.stat(follow_symlinks=False)) for e in entries]
        except OSError:
            found = []
        for name, info in found:
            if is_junk(name):
                continue
            if stat.S_ISDIR(info.st_mode):
                try:
                    child = os.open(name, DIR_FLAGS, dir_fd=fd)
                except OSError as exc:
                    if exc.errno in (errno.ELOOP, errno.ENOTDIR):  # swapped for a link just now
                        yield "/".join((*parts, name)), Snapshot.of(lstat_at(fd, name))
                    continue
                stack.append(((*parts, name), child))
            else:
                yield "/".join((*parts, name)), Snapshot.of(info)
        os.close(fd)
