"""The spool: claimed files without a final fate, each as `spool/<claim_id>.<name>`.

A claim is an atomic rename of `inbox/<name>` into the spool, relative to
directory descriptors opened without following links, with `/` and `%` in the
name escaped (`%2F`, `%25`): the name as dropped survives in the spool entry
itself, so the spool alone is enough to re-enqueue every claimed file after a
crash. Only a name too long for one path component falls back to
`spool/<claim_id>/<name>`.

A file is taken only if it is still what readiness saw (same inode, size and
modification time) and, where the kernel can tell, nobody holds it open for
writing: a read lease (`F_SETLEASE`) cannot be taken while a writer has the
file open, and while we hold it no writer can open it.
"""

from __future__ import annotations

import contextlib
import enum
import errno
import fcntl
import logging
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from worker.errors import ConfigurationError
from worker.files.claims import Claim, InvalidClaim, claimed_at, is_claim_id, new_claim_id
from worker.files.safe import DIR_FLAGS, LinkInPath, lstat_at, open_dir, opened_dir
from worker.settings import Settings

log = logging.getLogger(__name__)

_NAME_MAX = 255  # bytes in one path component on the file systems we run on
_F_SETLEASE = getattr(fcntl, "F_SETLEASE", 1024)
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What readiness saw of an inbox entry."""

    ino: int
    size: int
    mtime_ns: int
    regular: bool

    @classmethod
    def of(cls, info: os.stat_result) -> Snapshot:
        return cls(info.st_ino, info.st_size, info.st_mtime_ns, stat.S_ISREG(info.st_mode))


class Taken(enum.Enum):
    CLAIMED = "claimed"
    CHANGED = "changed"  # not what readiness saw: look again later
    BUSY = "busy"  # open for writing somewhere: wait for its close
    GONE = "gone"


def snapshot(inbox: int, relative: str) -> Snapshot | None:
    """The entry's lstat, reached without following any link; None if gone or unreachable."""
    parts = relative.split("/")
    try:
        with opened_dir(inbox, parts[:-1]) as folder:
            return Snapshot.of(lstat_at(folder, parts[-1]))
    except OSError:
        return None


def claim_now(settings: Settings, relative: str) -> Claim:
    """Claim one inbox file at once, as the watcher would (tests and benchmarks)."""
    inbox, spool = os.open(settings.inbox_dir, DIR_FLAGS), os.open(settings.spool_dir, DIR_FLAGS)
    try:
        seen = snapshot(inbox, relative)
        if seen is None:
            raise FileNotFoundError(relative)
        state, taken = claim(inbox, spool, relative.split("/"), seen)
    finally:
        os.close(inbox)
        os.close(spool)
    if state is not Taken.CLAIMED or taken is None:
        raise RuntimeError(f"could not claim {relative}: {state.value}")
    return taken


def flat_name(claim_id: str, name: str) -> str | None:
    flat = f"{claim_id}.{name.replace('%', '%25').replace('/', '%2F')}"
    return flat if len(os.fsencode(flat)) <= _NAME_MAX else None


def unflatten(entry: str) -> tuple[str, str]:
    claim_id, escaped = entry.split(".", 1)
    return claim_id, escaped.replace("%2F", "/").replace("%25", "%")


def spool_parts(claim: Claim) -> list[str]:
    """The claim's entry under the spool, as path components.

    The claim id is checked again here: a claim rebuilt from the ledger (`ingest
    retry`) must not carry a `/` that would lead its entry out of the spool.
    """
    if not is_claim_id(claim.claim_id):
        raise InvalidClaim(f"not a claim id: {claim.claim_id!r:.80}")
    flat = flat_name(claim.claim_id, claim.name)
    return [flat] if flat is not None else [claim.claim_id, *claim.name.split("/")]


def claim(
    inbox: int, spool: int, parts: Sequence[str], seen: Snapshot
) -> tuple[Taken, Claim | None]:
    """Move one ready inbox entry (inbox/parts...) into the spool."""
    try:
        folder = open_dir(inbox, parts[:-1])
    except FileNotFoundError:
        return Taken.GONE, None
    try:
        return _claim_in(folder, parts, spool, seen)
    finally:
        os.close(folder)


def _claim_in(
    folder: int, parts: Sequence[str], spool: int, seen: Snapshot
) -> tuple[Taken, Claim | None]:
    name = parts[-1]
    try:
        info = lstat_at(folder, name)
    except FileNotFoundError:
        return Taken.GONE, None
    if Snapshot.of(info) != seen:
        return Taken.CHANGED, None
    with _no_writer(folder, name, info) as state:
        if state is not Taken.CLAIMED:
            return state, None
        claim_id = new_claim_id()
        taken = Claim(
            claim_id,
            "/".join(parts),
            claimed_at(claim_id).isoformat(),
            info.st_ino,
            info.st_size,
            info.st_mtime_ns,
        )
        target = spool_parts(taken)
        try:
            if len(target) == 1:
                os.rename(name, target[0], src_dir_fd=folder, dst_dir_fd=spool)
            else:
                with opened_dir(spool, target[:-1], create=True) as into:
                    os.rename(name, target[-1], src_dir_fd=folder, dst_dir_fd=into)
        except FileNotFoundError:
            return Taken.GONE, None
    return Taken.CLAIMED, taken


@contextlib.contextmanager
def _no_writer(folder: int, name: str, info: os.stat_result) -> Iterator[Taken]:
    """CLAIMED while no process has the file open for writing (a read lease holds)."""
    if not stat.S_ISREG(info.st_mode):
        yield Taken.CLAIMED  # links, pipes, devices: judged by their entry, never opened
        return
    try:
        fd = os.open(name, _READ_FLAGS, dir_fd=folder)
    except FileNotFoundError:
        yield Taken.GONE
        return
    except OSError:
        yield Taken.CLAIMED  # unreadable to us: the worker records why
        return
    try:
        if os.fstat(fd).st_ino != info.st_ino:
            yield Taken.CHANGED
            return
        try:
            fcntl.fcntl(fd, _F_SETLEASE, fcntl.F_RDLCK)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EBUSY):
                yield Taken.BUSY
                return
            # Not the owner and no CAP_LEASE, or a file system without leases
            # (NFS): the stability rule is all we have.
            yield Taken.CLAIMED
            return
        try:
            yield Taken.CLAIMED
        finally:
            with contextlib.suppress(OSError):
                fcntl.fcntl(fd, _F_SETLEASE, fcntl.F_UNLCK)
    finally:
        os.close(fd)


def open_claimed(spool: int, claim: Claim) -> int:
    """Open a claimed file for reading: no link followed, no FIFO waited on."""
    parts = spool_parts(claim)
    with opened_dir(spool, parts[:-1]) as folder:
        return os.open(parts[-1], _READ_FLAGS, dir_fd=folder)


def lstat_claimed(spool: int, claim: Claim) -> os.stat_result:
    parts = spool_parts(claim)
    with opened_dir(spool, parts[:-1]) as folder:
        return lstat_at(folder, parts[-1])


def pending_claims(spool: int) -> list[Claim]:
    """Every claim still in the spool, oldest first (for catch-up after a restart)."""
    claims: list[Claim] = []
    with os.scandir(spool) as entries:
        ordered = sorted(entries, key=lambda e: e.name)
    for entry in ordered:
        try:
            if entry.is_dir(follow_symlinks=False):
                claims.extend(_claims_in_folder(spool, entry.name))
            elif not entry.name.startswith("."):
                claim_id, name = unflatten(entry.name)
                claims.append(Claim.from_json({"claim_id": claim_id, "name": name}))
        except (ValueError, InvalidClaim, LinkInPath):
            log.warning("spool entry %r is not a claim; left alone", entry.name)
    return claims


def _claims_in_folder(spool: int, claim_id: str) -> list[Claim]:
    """The long-name form: spool/<claim_id>/<name>."""
    found: list[Claim] = []
    for root, _dirs, files, _fd in os.fwalk(claim_id, dir_fd=spool):
        relative = root.split("/", 1)[1] + "/" if "/" in root else ""
        found += [Claim.from_json({"claim_id": claim_id, "name": relative + f}) for f in files]
    return found


def prepare_folders(settings: Settings) -> None:
    """Create the inbox and the spool; refuse a files folder on another file system,
    or one that others could have planted or could swap things in.

    Claims and final moves are renames: across file systems every one would fail
    (EXDEV) and no file would ever get a fate. The files folder defaults to
    `<inbox>/.ingest`, and an inbox is often writable by everyone: a `.ingest`
    planted there as a link, or as a folder of another user's, would put every
    claimed file in that user's hands.
    """
    settings.inbox_dir.mkdir(parents=True, exist_ok=True)
    work = settings.work_dir
    existing = next(p for p in (work, *work.parents) if p.exists())  # nothing made elsewhere
    if settings.inbox_dir.stat().st_dev != existing.stat().st_dev:
        raise ConfigurationError(
            f"files_dir ({work}) is on another file system than the inbox "
            f"({settings.inbox_dir}); claims are atomic renames, so it must be on the same one"
        )
    _own_folder(work, parents=True)
    _own_folder(settings.spool_dir)


def _own_folder(path: Path, *, parents: bool = False) -> None:
    """Create `path` (0700) unless it exists; refuse a link, another user's folder
    (root's aside) or a folder everyone may write to."""
    if parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700)
    info = path.lstat()
    why = None
    if stat.S_ISLNK(info.st_mode):
        why = "is a symbolic link"
    elif not stat.S_ISDIR(info.st_mode):
        why = "is not a folder"
    elif info.st_uid not in (os.geteuid(), 0):
        why = f"belongs to another user (uid {info.st_uid})"
    elif info.st_mode & stat.S_IWOTH:
        why = "is writable by every user"
    if why is not None:
        raise ConfigurationError(
            f"{path} {why}: the spool and outcome folders must be our own; "
            "remove it (or set files_dir to a folder of ours)"
        )
