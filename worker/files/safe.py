"""File system steps that never follow a link and never replace what is there.

Every path we act on under the inbox, the spool or an outcome folder is
reached from an open directory, one component at a time, each opened with
`O_NOFOLLOW | O_DIRECTORY`: a component swapped for a symbolic link (to a
folder we must not touch) fails with ELOOP or ENOTDIR instead of being
followed. Renames are relative to those directory descriptors, and a move
into an outcome folder never replaces an existing entry (`renameat2` with
RENAME_NOREPLACE; `link` + `unlink` where the file system lacks it).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import stat
import sys
from collections.abc import Iterator, Sequence

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_RENAME_NOREPLACE = 1


class LinkInPath(OSError):
    """A folder on the way is a symbolic link (or not a folder): never followed."""


def open_root(path: str | os.PathLike[str]) -> int:
    """Open a folder we own (inbox, spool, files_dir) by absolute path, refusing a link."""
    return os.open(path, DIR_FLAGS)


def open_dir(root: int, parts: Sequence[str], *, create: bool = False, mode: int = 0o700) -> int:
    """Open root/parts[0]/parts[1]/... without following any link; create if asked.

    A new descriptor the caller closes (a duplicate of root when `parts` is empty).
    """
    if not parts:
        return os.dup(root)
    fd = root
    try:
        for part in parts:
            if part in ("", ".", "..") or "/" in part:
                raise LinkInPath(errno.EINVAL, f"not a plain name: {part!r}")
            parent, fd = fd, _open_child(fd, part, create, mode)
            if parent != root:
                os.close(parent)
    except BaseException:
        if fd != root:
            os.close(fd)
        raise
    return fd


def _open_child(parent: int, part: str, create: bool, mode: int) -> int:
    try:
        try:
            return os.open(part, DIR_FLAGS, dir_fd=parent)
        except FileNotFoundError:
            if not create:
                raise
        # Only a missing folder is made: an attempt per call cost an exception each time.
        with contextlib.suppress(FileExistsError):
            os.mkdir(part, mode, dir_fd=parent)
        return os.open(part, DIR_FLAGS, dir_fd=parent)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise LinkInPath(exc.errno, f"{part!r} is a link or not a folder") from exc
        raise


@contextlib.contextmanager
def opened_dir(
    root: int, parts: Sequence[str], *, create: bool = False, mode: int = 0o700
) -> Iterator[int]:
    """`open_dir` for a with-block; with no parts, root itself (nothing to open or close)."""
    if not parts:
        yield root
        return
    fd = open_dir(root, parts, create=create, mode=mode)
    try:
        yield fd
    finally:
        os.close(fd)


def lstat_at(dir_fd: int, name: str) -> os.stat_result:
    return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)


def _renameat2() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    return getattr(libc, "renameat2", None)


_RENAMEAT2 = _renameat2()


def move_noreplace(src_dir: int, src: str, dst_dir: int, dst: str) -> None:
    """Move an entry without replacing one at the target (FileExistsError if taken)."""
    if _RENAMEAT2 is not None:
        result = _RENAMEAT2(src_dir, os.fsencode(src), dst_dir, os.fsencode(dst), _RENAME_NOREPLACE)
        if result == 0:
            return
        code = ctypes.get_errno()
        if code not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
            raise OSError(code, os.strerror(code), dst)
    # No RENAME_NOREPLACE here (an NFS mount, say): a hard link fails on an
    # existing name. Folders cannot be linked; an lstat then the rename is the best left.
    info = lstat_at(src_dir, src)
    if stat.S_ISDIR(info.st_mode):
        with contextlib.suppress(FileNotFoundError):
            lstat_at(dst_dir, dst)
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), dst)
        os.rename(src, dst, src_dir_fd=src_dir, dst_dir_fd=dst_dir)
        return
    os.link(src, dst, src_dir_fd=src_dir, dst_dir_fd=dst_dir, follow_symlinks=False)
    os.unlink(src, dir_fd=src_dir)


def remove_empty_parents(root: int, parts: Sequence[str], keep: int = 0) -> None:
    """Remove root/parts... from the deepest up while each is empty, keeping the first `keep`."""
    for depth in range(len(parts), keep, -1):
        try:
            with opened_dir(root, parts[: depth - 1]) as parent:
                os.rmdir(parts[depth - 1], dir_fd=parent)
        except OSError:
            return


def first_non_folder(root: int, parts: Sequence[str]) -> int | None:
    """The index of the first of root/parts[0]/parts[1]/... that exists but is not a
    folder reached without following a link; None if each is one, or is missing."""
    for depth in range(1, len(parts) + 1):
        try:
            with opened_dir(root, parts[:depth]):
                pass
        except LinkInPath:
            return depth - 1
        except OSError:
            return None
    return None
