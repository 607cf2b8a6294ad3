"""The kinds of inbox behind one interface: a folder, or an object-store prefix.

The pipeline (read a claim, choose and deliver its outcome) and the operator's
commands (what is kept, requeue, release, remove) use a `Source` and never ask
which kind of inbox it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from worker.fates import Fate
from worker.files.claims import Claim
from worker.files.outcomes import Moved
from worker.files.source import FolderSource, Read
from worker.files.spool import prepare_folders
from worker.objects.source import S3Source
from worker.settings import Settings


class Source(Protocol):
    def read(self, claim: Claim, limit: int) -> Read: ...
    def prefetch(self, claims: Sequence[Claim], limit: int) -> None: ...
    def choose(self, fate: Fate, name: str, claim_id: str) -> str: ...
    def deliver(self, claim: Claim, path: str, sidecar: dict[str, object] | None) -> Moved: ...
    def place_pending(self) -> int: ...
    def kept(self, path: str) -> int | None: ...
    def read_kept(self, path: str, limit: int) -> bytes | None: ...
    def remove(self, path: str, claim_id: str, *, sidecar: bool) -> None: ...
    def requeue(self, path: str, claim: Claim) -> None: ...
    def release(self, path: str, name: str, claim_id: str) -> bool: ...
    def location(self, path: str) -> str: ...
    def close(self) -> None: ...


def open_source(settings: Settings) -> Source:
    if settings.inbox_is_s3:
        return S3Source(settings)
    return FolderSource(settings)


def prepare(settings: Settings) -> None:
    """Before a watcher or `ingest up` starts: create the folders (a folder inbox), or
    check the locations (an S3 inbox: the files prefix is valid and apart from the
    inbox prefix). ConfigurationError if they cannot work."""
    if settings.inbox_is_s3:
        settings.files_location  # noqa: B018 - raises for a files_dir that cannot work
        return
    prepare_folders(settings)
