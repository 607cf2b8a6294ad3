"""How full things are: claims waiting for a fate, and disk space for the files folder.

The watcher stops claiming over either limit (worker.watcher.holdback), and
`ingest status` shows the same reason.
"""

from __future__ import annotations

import os

from worker.settings import Settings


def spool_count(spool: int, limit: int) -> int:
    """Entries in the spool, counting no further than `limit`."""
    count = 0
    with os.scandir(spool) as entries:
        for _entry in entries:
            count += 1
            if count > limit:
                break
    return count


def free_bytes(folder: int) -> int:
    info = os.fstatvfs(folder)
    return info.f_bavail * info.f_frsize


def reason(settings: Settings, spool: int) -> str | None:
    """Why claiming should pause now, or None."""
    limit = settings.max_queued_files
    if limit and spool_count(spool, limit) >= limit:
        return f"max_queued_files ({limit}) claims wait for a fate"
    free = free_bytes(spool)
    if free < settings.min_free_mb * 1024 * 1024:
        return f"only {free // (1024 * 1024)} MiB free for the files folder (min_free_mb)"
    return None
