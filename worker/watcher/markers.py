"""Completion markers, for producers that can say when they are done.

With `completion_marker` on, `x.txt.done` says `x.txt` is complete, and
`_SUCCESS` in a folder says every file in it is; a marked file is taken
without waiting out the stability rule (a writer that still holds it open is
still waited for). With "required", unmarked files are never taken. Markers
are never ingested: one is removed once what it marked is claimed.
"""

from __future__ import annotations

import contextlib
import os
from typing import Literal

from worker.files.claims import is_junk
from worker.files.safe import LinkInPath, opened_dir

DONE_SUFFIX = ".done"
FOLDER_MARKER = "_SUCCESS"

Mode = Literal["off", "optional", "required"]


class Markers:
    def __init__(self, mode: Mode) -> None:
        self.on = mode != "off"

    def target(self, relative: str) -> str | None:
        """What a marker marks: a file's relative path, or a folder's path ending in `/`."""
        if not self.on:
            return None
        folder, _, name = relative.rpartition("/")
        if name == FOLDER_MARKER:
            return folder + "/" if folder else ""
        if name.endswith(DONE_SUFFIX) and len(name) > len(DONE_SUFFIX):
            return relative[: -len(DONE_SUFFIX)]
        return None

    def wanted(self, relative: str) -> bool:
        """An entry to ingest: not junk, not a marker."""
        return not is_junk(relative) and self.target(relative) is None

    def claimed(self, inbox: int, relative: str) -> None:
        if self.on:
            _remove(inbox, relative + DONE_SUFFIX)

    def tidy(self, inbox: int, seen: set[str]) -> None:
        """Remove `_SUCCESS` markers whose folder has nothing left to take."""
        if not self.on:
            return
        for marker in [p for p in seen if p.rpartition("/")[2] == FOLDER_MARKER]:
            folder = marker[: -len(FOLDER_MARKER)]
            if not any(p.startswith(folder) and self.wanted(p) for p in seen):
                _remove(inbox, marker)


def _remove(inbox: int, relative: str) -> None:
    parts = relative.split("/")
    with contextlib.suppress(OSError, LinkInPath), opened_dir(inbox, parts[:-1]) as folder:
        os.unlink(parts[-1], dir_fd=folder)
