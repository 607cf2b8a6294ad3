"""Fates: where every file (and every record of a multi-record file) ends.

One owner for the names: the ledger's status column (its check constraint
lists the same values), the outcome folders, the metrics label and every
operator command use `Fate`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Fate(enum.StrEnum):
    PROCESSING = "processing"  # in flight: claimed, not finished
    STORED = "stored"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"  # the input is bad: never retried
    FAILED = "failed"  # processing could not finish: retried first

    @property
    def final(self) -> bool:
        return self is not Fate.PROCESSING

    @property
    def has_sidecar(self) -> bool:
        """Rejected and failed files get a `.error.json` explaining why."""
        return self in (Fate.REJECTED, Fate.FAILED)

    @property
    def folder(self) -> str:
        """The outcome folder under files_dir."""
        return OUTCOME_FOLDERS[self]


FINAL_FATES = tuple(f for f in Fate if f.final)

OUTCOME_FOLDERS = {
    Fate.STORED: "processed",
    Fate.DUPLICATE: "duplicates",
    Fate.REJECTED: "rejected",
    Fate.FAILED: "failed",
}


@dataclass(frozen=True, slots=True)
class Verdict:
    """A fate with its reason code and human detail (both None for stored files)."""

    fate: Fate
    reason: str | None = None
    detail: str | None = None
    record: int | None = None  # the record it is about, in a multi-record file

    @classmethod
    def rejected(cls, reason: str, detail: str, record: int | None = None) -> Verdict:
        return cls(Fate.REJECTED, reason, detail, record)

    @classmethod
    def failed(cls, reason: str, detail: str) -> Verdict:
        return cls(Fate.FAILED, reason, detail)
