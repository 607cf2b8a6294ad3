"""File lifecycle: junk filter, claim into the spool, move to the final folder.

A claim is an atomic rename of `inbox/<name>` to `spool/<claim_id>.<name>`,
with `/` and `%` in the name escaped (`%2F`, `%25`): the name as dropped
survives in the spool entry itself, so the spool alone is enough to re-enqueue
every claimed file after a crash. The spool is flat because a folder per claim
costs a mkdir and an rmdir per file; only a name too long for one path
component falls back to `spool/<claim_id>/<name>`.
"""

from __future__ import annotations

import json
import logging
import os
import random
import secrets
import shutil
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from worker.errors import ConfigurationError
from worker.settings import Settings

log = logging.getLogger(__name__)

_JUNK_NAMES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini", "@eaDir", "__MACOSX"})
_JUNK_SUFFIXES = (".part", ".tmp", ".swp", ".swx", ".crdownload", ".partial", "~")


def is_junk(relative: str) -> bool:
    """Temporary and junk names are never taken (rsync temp files, editor swap...)."""
    for part in relative.split("/"):
        if part.startswith(".") or part in _JUNK_NAMES:
            return True
    return relative.endswith(_JUNK_SUFFIXES)


# Seeded once from the OS: a syscall per claim id is measurable in a burst.
_random = random.Random(secrets.randbits(64))


def new_claim_id() -> str:
    """Sortable by claim time (ns since epoch), unique across watchers."""
    return f"{time.time_ns():016x}-{_random.getrandbits(32):08x}"


def claimed_at(claim_id: str) -> datetime:
    return datetime.fromtimestamp(int(claim_id.split("-", 1)[0], 16) / 1e9, UTC)


@dataclass(frozen=True, slots=True)
class Claim:
    claim_id: str
    name: str  # path relative to the inbox, exactly as dropped
    received_at: str  # ISO 8601, UTC

    def to_json(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, str]) -> Claim:
        return cls(data["claim_id"], data["name"], data["received_at"])


_NAME_MAX = 255  # bytes in one path component on the file systems we run on


def _flat_name(claim_id: str, name: str) -> str | None:
    flat = f"{claim_id}.{name.replace('%', '%25').replace('/', '%2F')}"
    fits = len(os.fsencode(flat)) <= _NAME_MAX
    return flat if fits else None


def _unflatten(entry: str) -> tuple[str, str]:
    claim_id, escaped = entry.split(".", 1)
    return claim_id, escaped.replace("%2F", "/").replace("%25", "%")


def spool_path(spool: Path, claim: Claim) -> Path:
    flat = _flat_name(claim.claim_id, claim.name)
    return spool / flat if flat is not None else spool / claim.claim_id / claim.name


def claim(inbox: Path, spool: Path, path: Path) -> Claim | None:
    """Move one ready file into the spool; None when it is gone or is not ours to take."""
    relative = os.path.relpath(path, inbox) if os.sep != "/" else str(path)[len(str(inbox)) + 1 :]
    claim_id = new_claim_id()
    taken = Claim(claim_id, relative, claimed_at(claim_id).isoformat())
    target = spool_path(spool, taken)
    if target.parent != spool:
        target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(path, target)
    except FileNotFoundError:
        if not os.path.lexists(path):
            remove_empty_dirs(target.parent, spool)
            return None  # gone before we could take it
        spool.mkdir(parents=True, exist_ok=True)  # first claim: the spool does not exist yet
        os.rename(path, target)
    return taken


def pending_claims(spool: Path) -> list[Claim]:
    """Every file still in the spool, oldest claim first (for catch-up after a restart)."""
    claims: list[Claim] = []
    if not spool.is_dir():
        return claims
    with os.scandir(spool) as entries:
        ordered = sorted(entries, key=lambda e: e.name)
    for entry in ordered:
        try:
            if entry.is_dir(follow_symlinks=False):
                claims.extend(_claims_in_folder(spool, Path(entry.path)))
            elif "." in entry.name and not entry.name.startswith("."):
                claim_id, name = _unflatten(entry.name)
                claims.append(Claim(claim_id, name, claimed_at(claim_id).isoformat()))
        except ValueError:
            log.warning("spool entry %r is not a claim; left alone", entry.name)
    return claims


def _claims_in_folder(spool: Path, claim_dir: Path) -> list[Claim]:
    """The long-name form: spool/<claim_id>/<name>."""
    received = claimed_at(claim_dir.name).isoformat()
    found = [
        Claim(claim_dir.name, (Path(root) / f).relative_to(claim_dir).as_posix(), received)
        for root, _dirs, files in os.walk(claim_dir)
        for f in files
    ]
    if not found:
        remove_empty_dirs(claim_dir, spool)
    return found


def finish(
    spool: Path, outcome_dir: Path, claim: Claim, sidecar: dict[str, object] | None
) -> Path | None:
    """Move a file with a recorded fate out of the spool; idempotent.

    Returns the final path, or None when the file had already been moved.
    """
    source = spool_path(spool, claim)
    if not os.path.lexists(source):
        remove_empty_dirs(source.parent, spool)
        return None
    target = _free_name(outcome_dir / claim.name, claim.claim_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    if sidecar is not None:
        _write_atomic(_sidecar_path(target, claim.claim_id), sidecar)
    try:
        os.rename(source, target)
    except OSError:
        shutil.move(source, target)  # another file system: copy, then unlink
    remove_empty_dirs(source.parent, spool)
    return target


def _free_name(target: Path, claim_id: str) -> Path:
    if not os.path.lexists(target):
        return target
    clash = target.with_name(f"{target.name}.{claim_id}")
    if len(os.fsencode(clash.name)) > _NAME_MAX:
        clash = target.with_name(f"{claim_id}{target.suffix}"[:_NAME_MAX])
    return clash


def _sidecar_path(target: Path, claim_id: str) -> Path:
    """`<name>.error.json`, or `<claim_id>.error.json` when that name would be too long."""
    sidecar = target.with_name(target.name + ".error.json")
    if len(os.fsencode(sidecar.name)) > _NAME_MAX:
        sidecar = target.with_name(f"{claim_id}.error.json")
    return sidecar


def _write_atomic(path: Path, data: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{secrets.token_hex(6)}.tmp")  # short: the real name may be long
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", "utf-8")
    os.replace(tmp, path)


def prepare_folders(settings: Settings) -> None:
    """Create the inbox and the spool; refuse a files folder on another file system.

    Claims and final moves are renames: across file systems every one would fail
    (EXDEV) and no file would ever get a fate.
    """
    settings.inbox_dir.mkdir(parents=True, exist_ok=True)
    settings.work_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    settings.spool_dir.mkdir(exist_ok=True, mode=0o700)
    if settings.inbox_dir.stat().st_dev != settings.work_dir.stat().st_dev:
        raise ConfigurationError(
            f"files_dir ({settings.work_dir}) is on another file system than the inbox "
            f"({settings.inbox_dir}); claims are atomic renames, so it must be on the same one"
        )


def remove_empty_dirs(start: Path, stop: Path) -> None:
    """Remove `start` and its parents while they are empty, up to (not including) `stop`."""
    current = start
    while current != stop and stop in current.parents:
        try:
            current.rmdir()
        except OSError:
            return
        current = current.parent
