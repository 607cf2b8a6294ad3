"""A claim: one file taken from the inbox, as named in a task message.

Messages cross the broker, which other programs may reach: `Claim.from_json`
validates every field by its exact form before anything touches the disk. A
claim id is the watcher's (time-sortable hex); a name is the path relative to
the inbox as dropped, and the watcher never takes a name with an empty, `.`,
`..` or hidden component (see `is_junk`), so no valid name can climb out of
the folder it is joined to.
"""

from __future__ import annotations

import random
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from worker.errors import IngestError

_JUNK_NAMES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini", "@eaDir", "__MACOSX"})
_JUNK_SUFFIXES = (".part", ".tmp", ".swp", ".swx", ".crdownload", ".partial", "~")
_CLAIM_ID = re.compile(r"[0-9a-f]{16}-[0-9a-f]{8}")
# An object's ETag without its quotes: the MD5 hex of a single-part upload, with
# `-<parts>` after a multipart one (S3, SeaweedFS, MinIO, Ceph, R2 alike).
_ETAG = re.compile(r"[0-9a-f]{32}(-[1-9][0-9]{0,4})?")
_MAX_NAME = 4096


class InvalidClaim(IngestError):
    """A message field that no watcher of ours could have written."""


def is_junk(relative: str) -> bool:
    """Temporary and junk names are never taken (rsync temp files, editor swap...)."""
    for part in relative.split("/"):
        if not part or part.startswith(".") or part in _JUNK_NAMES:
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
    # What the file was when claimed: a worker that reads something else (a writer
    # still at work) sends it back instead of storing a partial document.
    ino: int | None = None
    size: int | None = None
    mtime_ns: int | None = None
    # An object-store claim: the ETag of the object claimed. A worker reads only
    # that object (If-Match): one re-uploaded under the same key is another claim.
    etag: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "claim_id": self.claim_id,
            "name": self.name,
            "received_at": self.received_at,
        }
        if self.ino is not None:
            data["identity"] = [self.ino, self.size, self.mtime_ns]
        if self.etag is not None:
            data["etag"] = self.etag
        return data

    @classmethod
    def from_json(cls, data: object) -> Claim:
        """Validate a message item; raise InvalidClaim for anything off."""
        if not isinstance(data, dict):
            raise InvalidClaim(f"a claim is an object, not {type(data).__name__}")
        claim_id, name = data.get("claim_id"), data.get("name")
        if not isinstance(claim_id, str) or not _CLAIM_ID.fullmatch(claim_id):
            raise InvalidClaim(f"not a claim id: {claim_id!r:.80}")
        check_name(name)
        assert isinstance(name, str)
        received = claimed_at(claim_id).isoformat()  # derived, never taken from the message
        etag = data.get("etag")
        if etag is not None and (not isinstance(etag, str) or not _ETAG.fullmatch(etag)):
            raise InvalidClaim(f"not an object ETag: {etag!r:.80}")
        identity = data.get("identity")
        if identity is None:
            return cls(claim_id, name, received, etag=etag)
        if (
            not isinstance(identity, list)
            or len(identity) != 3
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in identity)
        ):
            raise InvalidClaim(f"not a file identity: {identity!r:.80}")
        return cls(claim_id, name, received, identity[0], identity[1], identity[2], etag)


def check_etag(etag: str) -> bool:
    """Whether `etag` (unquoted) has a form a claim may carry."""
    return _ETAG.fullmatch(etag) is not None


def is_claim_id(value: object) -> bool:
    """Whether `value` has the exact form of our claim ids (so it can name a spool entry)."""
    return isinstance(value, str) and _CLAIM_ID.fullmatch(value) is not None


def check_name(name: object) -> None:
    """A relative name with plain components only; raise InvalidClaim otherwise."""
    if not isinstance(name, str) or not name or len(name) > _MAX_NAME:
        raise InvalidClaim(f"not a file name: {name!r:.80}")
    if "\x00" in name or name.startswith("/") or is_junk(name):
        raise InvalidClaim(f"not a name the watcher takes: {name!r:.80}")
