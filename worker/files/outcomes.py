"""Outcome folders and sidecars: where a file ends, chosen before the commit that records it.

- A file keeps its name: `<folder>/<name>` (processed/, duplicates/,
  rejected/, failed/). If that name is taken, `<folder>/<name>.<claim_id>`;
  if that is too long for a file name, `<folder>/<dir>/<claim_id><suffix>`.
  A folder of the name that is a kept file already (`d`, then `d/x.txt`) gets
  the claim id instead: `<folder>/d.<claim_id>/x.txt`.
  The path is stored in the ledger (`outcome_path`), and the move never
  replaces what is there (RENAME_NOREPLACE): a race for a name is noticed,
  never a file lost.
- A rejected or failed file's reasons go to `errors/<outcome_path>.error.json`
  (`sidecar_path`): a namespace of its own, so no dropped name can ever collide
  with a sidecar. Writing and placing them is `worker.files.sidecars`.
"""

from __future__ import annotations

import enum
import errno
import os
import re
from collections.abc import Sequence
from pathlib import PurePosixPath

from worker.constants import ERRORS_FOLDER, SIDECAR_SUFFIX
from worker.fates import OUTCOME_FOLDERS, Fate
from worker.files.claims import Claim
from worker.files.safe import (
    LinkInPath,
    first_non_folder,
    lstat_at,
    move_noreplace,
    open_dir,
    opened_dir,
    remove_empty_parents,
)
from worker.files.spool import spool_parts

_NAME_MAX = 255
_KEPT_FOLDERS = frozenset(OUTCOME_FOLDERS.values())


_ESCAPED = re.compile(r"%([0-9A-F]{2})")


def to_text(path: str) -> str:
    """An outcome path as the ledger stores it (PostgreSQL text must be valid UTF-8).

    Bytes of a name that are not UTF-8 (surrogate escapes in Python) become
    `%XX`, and `%` itself `%25`: `from_text` gives back the exact path.
    """
    if path.isascii() and "%" not in path:
        return path
    return "".join(
        f"%{ord(c) - 0xDC00:02X}" if "\udc80" <= c <= "\udcff" else "%25" if c == "%" else c
        for c in path
    )


def from_text(text: str) -> str:
    def back(match: re.Match[str]) -> str:
        value = int(match[1], 16)
        return "%" if value == 0x25 else chr(0xDC00 + value) if value >= 0x80 else match[0]

    return _ESCAPED.sub(back, text) if "%" in text else text


class Moved(enum.Enum):
    MOVED = "moved"
    ALREADY = "already"  # nothing left in the spool: moved before
    TAKEN = "taken"  # the outcome path holds another file


def preferred(fate: Fate, name: str) -> str:
    return f"{fate.folder}/{name}"


def alternate(fate: Fate, name: str, claim_id: str) -> str:
    """The outcome path when the preferred one is taken: unique to the claim."""
    path = PurePosixPath(name)
    leaf = f"{path.name}.{claim_id}"
    if len(os.fsencode(leaf)) > _NAME_MAX:
        leaf = f"{claim_id}{path.suffix}"[:_NAME_MAX]
    parent = path.parent.as_posix()
    return f"{fate.folder}/{leaf}" if parent == "." else f"{fate.folder}/{parent}/{leaf}"


def choose(files: int, fate: Fate, name: str, claim_id: str) -> str:
    """The outcome path to record: the file's own name if nothing is there yet.

    A folder on the way that is a file already (`d` kept, now `d/x.txt`) would make
    every move fail: that component gets the claim's id instead (`d.<claim_id>/x.txt`).
    """
    first = preferred(fate, name)
    parts = first.split("/")
    blocked = None
    try:
        taken = _taken(files, parts)  # one walk down the folders: the usual case
    except LinkInPath:
        blocked, taken = first_non_folder(files, parts[:-1]), exists(files, first)
    if blocked is not None:
        own = f"{parts[blocked]}.{claim_id}"
        parts[blocked] = own if len(os.fsencode(own)) <= _NAME_MAX else claim_id
        first = "/".join(parts)
        if len(os.fsencode(parts[-1])) <= _NAME_MAX:
            return first
        return alternate(fate, first.split("/", 1)[1], claim_id)
    if len(os.fsencode(name.rpartition("/")[2])) <= _NAME_MAX and not taken:
        return first
    return alternate(fate, name, claim_id)


def _taken(files: int, parts: Sequence[str]) -> bool:
    """Whether files/parts... exists; LinkInPath if a folder on the way is none."""
    try:
        with opened_dir(files, parts[:-1]) as folder:
            lstat_at(folder, parts[-1])
    except LinkInPath:
        raise
    except OSError:
        return False
    return True


def sidecar_path(outcome_path: str, claim_id: str) -> str:
    leaf = PurePosixPath(outcome_path).name + SIDECAR_SUFFIX
    if len(os.fsencode(leaf)) > _NAME_MAX:
        leaf = claim_id + SIDECAR_SUFFIX
    parent = PurePosixPath(outcome_path).parent.as_posix()
    return f"{ERRORS_FOLDER}/{parent}/{leaf}"


def exists(files: int, relative: str) -> bool:
    parts = relative.split("/")
    try:
        with opened_dir(files, parts[:-1]) as folder:
            lstat_at(folder, parts[-1])
    except OSError:
        return False
    return True


PENDING = f"{ERRORS_FOLDER}/.pending"


def move(files: int, spool: int, claim: Claim, outcome_path: str) -> Moved:
    """Move the claim's spool entry to its outcome path, never replacing anything.

    A recorded path that is no outcome path of ours counts as taken: the caller
    records the claim's own alternate path instead.
    """
    if not is_kept_path(outcome_path):
        return Moved.TAKEN
    source = spool_parts(claim)
    target = outcome_path.split("/")
    try:
        with opened_dir(spool, source[:-1]) as src:
            try:
                lstat_at(src, source[-1])
            except FileNotFoundError:
                return Moved.ALREADY
            try:
                dst = open_dir(files, target[:-1], create=True)
            except LinkInPath:
                return Moved.TAKEN  # a file took the name of a folder on the way
            try:
                move_noreplace(src, source[-1], dst, target[-1])
            finally:
                os.close(dst)
    except FileExistsError:
        return Moved.TAKEN
    except FileNotFoundError:
        return Moved.ALREADY
    if len(source) > 1:
        remove_empty_parents(spool, source[:-1])
    return Moved.MOVED


def move_out(files: int, relative: str, into: int, parts: Sequence[str]) -> None:
    """Move an outcome file elsewhere (back to the spool or the inbox), never replacing.

    FileExistsError if the target is taken, a folder on its way included (a file,
    or a link someone planted in the inbox: never followed).
    """
    if not is_kept_path(relative):
        raise OSError(errno.EINVAL, "not an outcome path", relative)
    source = relative.split("/")
    with opened_dir(files, source[:-1]) as src:
        try:
            dst = open_dir(into, parts[:-1], create=True)
        except LinkInPath as exc:
            raise FileExistsError(errno.EEXIST, str(exc), "/".join(parts)) from exc
        try:
            move_noreplace(src, source[-1], dst, parts[-1])
        finally:
            os.close(dst)
    _tidy(files, source)


def remove(files: int, relative: str) -> bool:
    """Delete an outcome file (or its sidecar); False if it was not there."""
    if not is_kept_path(relative):
        return False
    parts = relative.split("/")
    try:
        with opened_dir(files, parts[:-1]) as folder:
            os.unlink(parts[-1], dir_fd=folder)
    except FileNotFoundError:
        return False
    _tidy(files, parts)
    return True


def _tidy(files: int, parts: Sequence[str]) -> None:
    """Remove the sub-folders a file leaves empty; never a fate folder or `errors/<fate>`."""
    keep = 2 if parts[0] == ERRORS_FOLDER else 1
    remove_empty_parents(files, parts[:-1], keep)


def is_kept_path(relative: str) -> bool:
    """An outcome path as we record them: in a fate folder (or its sidecar under errors/).

    Operator commands act on paths read from the ledger; one that names the spool,
    the pending sidecars or the files folder itself was not written by a worker of
    ours, and is never touched.
    """
    parts = relative.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return False
    if parts[0] == ERRORS_FOLDER:
        return len(parts) >= 3 and parts[1] in _KEPT_FOLDERS
    return len(parts) >= 2 and parts[0] in _KEPT_FOLDERS


def lstat(files: int, relative: str) -> os.stat_result | None:
    if not is_kept_path(relative):
        return None
    parts = relative.split("/")
    try:
        with opened_dir(files, parts[:-1]) as folder:
            return lstat_at(folder, parts[-1])
    except OSError:
        return None


def open_kept(files: int, relative: str) -> int:
    """Open an outcome file for reading, no link followed, no FIFO waited on."""
    if not is_kept_path(relative):
        raise OSError(errno.EINVAL, "not an outcome path", relative)
    parts = relative.split("/")
    with opened_dir(files, parts[:-1]) as folder:
        return os.open(
            parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=folder
        )
