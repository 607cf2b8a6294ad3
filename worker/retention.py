"""`ingest prune`: delete files kept in the outcome folders longer than their retention.

A file's age is the time since it arrived in its folder: its inode change time
(the final rename sets it; the modification time is the producer's and may be
old). A file goes with its `.error.json` sidecar. Only processed/, duplicates/,
rejected/ and failed/ are ever looked at: never the inbox or the spool.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from worker.outcomes import SIDECAR_SUFFIX
from worker.settings import OUTCOME_FOLDERS, Settings

log = logging.getLogger(__name__)

DAY_S = 86_400.0


@dataclass(frozen=True, slots=True)
class Pruned:
    path: Path
    fate: str
    age_days: float
    size: int


def retention_days(settings: Settings) -> dict[str, float | None]:
    return {
        "stored": settings.keep_processed_days,
        "duplicate": settings.keep_duplicates_days,
        "rejected": settings.keep_rejected_days,
        "failed": settings.keep_failed_days,
    }


def prune(settings: Settings, *, dry_run: bool = False, now: float | None = None) -> list[Pruned]:
    now = time.time() if now is None else now
    protected = {settings.spool_dir.resolve(), settings.inbox_dir.resolve()}
    pruned: list[Pruned] = []
    for fate, days in retention_days(settings).items():
        if days is None:
            continue
        folder = settings.outcome_dir(fate)
        if not folder.is_dir() or folder.resolve() in protected:
            continue
        assert fate in OUTCOME_FOLDERS
        pruned += _prune_folder(folder, fate, now - days * DAY_S, now, dry_run)
    return pruned


def _prune_folder(
    folder: Path, fate: str, cutoff: float, now: float, dry_run: bool
) -> list[Pruned]:
    pruned: list[Pruned] = []
    for root, _dirs, files in os.walk(folder):
        names = set(files)
        for name in sorted(files):
            if name.endswith(SIDECAR_SUFFIX) and name[: -len(SIDECAR_SUFFIX)] in names:
                continue  # goes with its file
            path = Path(root) / name
            try:
                info = path.lstat()  # a symlink is judged and removed itself, never followed
            except FileNotFoundError:
                continue
            if info.st_ctime > cutoff:
                continue
            pruned.append(Pruned(path, fate, round((now - info.st_ctime) / DAY_S, 3), info.st_size))
            if dry_run:
                continue
            path.unlink(missing_ok=True)
            path.with_name(name + SIDECAR_SUFFIX).unlink(missing_ok=True)
            log.info("pruned %s (%s, %.1f days)", path, fate, (now - info.st_ctime) / DAY_S)
    if not dry_run:
        for root, _dirs, _files in os.walk(folder, topdown=False):
            if Path(root) != folder:
                with contextlib.suppress(OSError):
                    Path(root).rmdir()  # only succeeds when empty
    return pruned
