"""The folder inbox as the pipeline and the operator commands see it.

`FolderSource` holds the inbox, files folder and spool open as directory
descriptors and does every file step through them (worker.files.spool,
worker.files.outcomes). The object-store inbox offers the same methods
(worker.objects.source), so the pipeline and the commands never ask which
kind of inbox they serve.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass

from worker.constants import SPOOL_FOLDER
from worker.errors import Rejected
from worker.fates import Fate
from worker.files import outcomes, sidecars
from worker.files.claims import Claim
from worker.files.outcomes import Moved
from worker.files.safe import open_dir, open_root
from worker.files.spool import lstat_claimed, open_claimed, spool_parts
from worker.settings import Settings


@dataclass(frozen=True, slots=True)
class Read:
    raw: bytes
    now: Claim | None = None  # the claim as the item is now, if it changed since the claim


class FolderSource:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.files = open_root(settings.work_dir)
        try:  # from the files folder's descriptor: no link on the way is followed
            self.spool = open_dir(self.files, [SPOOL_FOLDER])
        except BaseException:
            os.close(self.files)
            raise
        self._inbox: int | None = None

    def close(self) -> None:
        for fd in (self.files, self.spool, self._inbox):
            if fd is not None:
                os.close(fd)

    # -- the pipeline ---------------------------------------------------------

    def read(self, claim: Claim, limit: int) -> Read:
        """The claimed file's bytes; Rejected (too_large, symlink, not_a_file),
        FileNotFoundError (vanished) or OSError (unreadable) otherwise."""
        info = lstat_claimed(self.spool, claim)
        if not stat.S_ISREG(info.st_mode):
            raise not_regular(info)
        try:
            fd = open_claimed(self.spool, claim)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENXIO):  # swapped for a link; a socket
                raise not_regular(info) from exc
            raise
        with os.fdopen(fd, "rb") as handle:
            before = os.fstat(handle.fileno())
            if not stat.S_ISREG(before.st_mode):
                raise not_regular(before)
            if before.st_size > limit:
                raise too_large(before.st_size, limit)
            raw = handle.read(limit + 1)
            after = os.fstat(handle.fileno())
        if len(raw) > limit:
            raise Rejected("too_large", f"The file grew beyond the limit of {limit} bytes.")
        now = (after.st_ino, after.st_size, after.st_mtime_ns)
        was = (claim.ino, claim.size, claim.mtime_ns) if claim.ino is not None else None
        if (was is not None and now != was) or after.st_size != len(raw):
            changed = Claim(claim.claim_id, claim.name, claim.received_at, *now)
            return Read(raw, changed)
        return Read(raw)

    def prefetch(self, claims: Sequence[Claim], limit: int) -> None:
        """Nothing to do: a local read is as quick as a read ahead would be."""

    def choose(self, fate: Fate, name: str, claim_id: str) -> str:
        return outcomes.choose(self.files, fate, name, claim_id)

    def deliver(self, claim: Claim, path: str, sidecar: dict[str, object] | None) -> Moved:
        """Sidecar (whole, under the claim's pending name) first, then the move, then
        the sidecar in place. TAKEN: the path holds another file; nothing moved."""
        if sidecar is not None:
            sidecars.write_pending(self.files, claim.claim_id, path, sidecar)
        moved = outcomes.move(self.files, self.spool, claim, path)
        if moved is not Moved.TAKEN and sidecar is not None:
            sidecars.place_sidecar(self.files, claim.claim_id)
        return moved

    def place_pending(self) -> int:
        return sidecars.place_pending(self.files)

    # -- the operator's commands ----------------------------------------------

    def kept(self, path: str) -> int | None:
        """The size of the file kept at an outcome path, or None if it is gone."""
        info = outcomes.lstat(self.files, path)
        return None if info is None else info.st_size

    def read_kept(self, path: str, limit: int) -> bytes | None:
        try:
            fd = outcomes.open_kept(self.files, path)
        except OSError:
            return None
        with os.fdopen(fd, "rb") as handle:
            return handle.read(limit + 1)

    def remove(self, path: str, claim_id: str, *, sidecar: bool) -> None:
        outcomes.remove(self.files, path)
        if sidecar:
            outcomes.remove(self.files, outcomes.sidecar_path(path, claim_id))

    def requeue(self, path: str, claim: Claim) -> None:
        """Back into the spool under its claim (`ingest retry`); the sidecar goes."""
        outcomes.move_out(self.files, path, self.spool, spool_parts(claim))
        outcomes.remove(self.files, outcomes.sidecar_path(path, claim.claim_id))

    def release(self, path: str, name: str, claim_id: str) -> bool:
        """Back into the inbox under its name as dropped; False if that name is taken."""
        if self._inbox is None:
            self._inbox = open_root(self.settings.inbox_dir)
        try:
            outcomes.move_out(self.files, path, self._inbox, name.split("/"))
        except FileExistsError:
            return False
        outcomes.remove(self.files, outcomes.sidecar_path(path, claim_id))
        return True

    def location(self, path: str) -> str:
        """Where an outcome path is, for people."""
        return str(self.settings.work_dir / path)


def not_regular(info: os.stat_result) -> Rejected:
    if stat.S_ISLNK(info.st_mode):
        return Rejected(
            "symlink",
            "The inbox entry is a symbolic link, and links are never followed; "
            "copy or move the file itself into the inbox.",
        )
    return Rejected(
        "not_a_file",
        "The inbox entry is not a regular file (a named pipe, socket or device) and was "
        "not read; drop regular files only.",
    )


def too_large(size: int, limit: int) -> Rejected:
    return Rejected("too_large", f"The file has {size} bytes; the limit is {limit} bytes.")
