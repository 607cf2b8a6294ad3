"""Sidecars of rejected and failed files in a folder: written whole under the
claim's own pending name before the move, put in place once the file has moved.

`errors/.pending/<claim_id>.json` (which also records the outcome path) is
written through a temporary and a rename; after the move it is renamed to
`errors/<outcome_path>.error.json` (`outcomes.sidecar_path`). A full disk
stops it before anything moved; a crash between the steps leaves a pending
sidecar that the next delivery, or the next start of a worker, puts in place.
The S3 counterpart is `worker.objects.sidecars`.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets

from worker.errors import DiskFull
from worker.files.outcomes import PENDING, exists, from_text, sidecar_path, to_text
from worker.files.safe import opened_dir


def write_pending(files: int, claim_id: str, outcome_path: str, data: dict[str, object]) -> None:
    """Write the whole sidecar under the claim's own pending name (a temporary, then a rename)."""
    recorded = {**data, "outcome_path": to_text(outcome_path)}
    text = json.dumps(recorded, indent=2, ensure_ascii=False, default=str)
    parts = PENDING.split("/")
    try:
        with opened_dir(files, parts, create=True) as folder:
            temp = f".{secrets.token_hex(6)}.tmp"
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
            fd = os.open(temp, flags, 0o640, dir_fd=folder)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    out.write(text + "\n")
                os.replace(temp, f"{claim_id}.json", src_dir_fd=folder, dst_dir_fd=folder)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp, dir_fd=folder)
                raise
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFull(f"no space left for the sidecar of claim {claim_id}") from exc
        raise


def place_sidecar(files: int, claim_id: str) -> str | None:
    """Move the claim's pending sidecar next to its moved file; its path, or None."""
    parts = PENDING.split("/")
    try:
        with opened_dir(files, parts) as pending:
            with os.fdopen(
                os.open(f"{claim_id}.json", os.O_RDONLY | os.O_NOFOLLOW, dir_fd=pending)
            ) as f:
                outcome_path = from_text(str(json.load(f)["outcome_path"]))
            if not exists(files, outcome_path):
                return None  # not moved yet: the next delivery moves it first
            target = sidecar_path(outcome_path, claim_id).split("/")
            with opened_dir(files, target[:-1], create=True) as folder:
                # Our own namespace: whatever is there is a stale copy for this path.
                os.replace(f"{claim_id}.json", target[-1], src_dir_fd=pending, dst_dir_fd=folder)
    except FileNotFoundError:
        return None
    return "/".join(target)


def place_pending(files: int) -> int:
    """Put in place every pending sidecar whose file has moved (a worker's start)."""
    placed = 0
    try:
        with opened_dir(files, PENDING.split("/")) as pending, os.scandir(pending) as entries:
            names = [e.name for e in entries if e.name.endswith(".json")]
    except OSError:
        return 0
    for name in names:
        with contextlib.suppress(OSError, ValueError, KeyError):
            placed += place_sidecar(files, name.removesuffix(".json")) is not None
    return placed
