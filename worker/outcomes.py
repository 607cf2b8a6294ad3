"""Finding a ledger row's file in its outcome folder (processed/, rejected/, failed/...).

`inbox.finish` moves a file to `<folder>/<name>`, or to `<folder>/<name>.<claim_id>`
when that name is taken. So the claim-suffixed path is certainly ours; the plain
one is ours when its sidecar names our file id, or its bytes hash to our sha256.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

SIDECAR_SUFFIX = ".error.json"


def sidecar_of(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


def locate(
    folder: Path, name: str, claim_id: str, file_id: int, sha256: str | None = None
) -> Path | None:
    suffixed = folder / f"{name}.{claim_id}"
    if os.path.lexists(suffixed):
        return suffixed
    plain = folder / name
    if not os.path.lexists(plain):
        return None
    sidecar = sidecar_of(plain)
    if sidecar.is_file():
        try:
            owner = json.loads(sidecar.read_text("utf-8")).get("file_id")
        except (OSError, ValueError):
            owner = None  # unreadable: fall back to the bytes
        else:
            return plain if owner == file_id else None
    if sha256 is not None and not plain.is_symlink():
        try:
            digest = hashlib.sha256(plain.read_bytes()).hexdigest()
        except OSError:
            return None
        return plain if digest == sha256.strip() else None
    return None
