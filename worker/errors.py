"""One error hierarchy: transient errors retry, permanent ones never do.

Every rejection carries a stable machine code (see `worker.reasons`) and a
sentence a person can act on; both end up in the ledger and the sidecar.
"""

from __future__ import annotations


class IngestError(Exception):
    """Base class of every error this package raises on purpose."""


class TransientError(IngestError):
    """Something outside the input failed (database, broker, disk); retry later."""


class DatabaseUnavailable(TransientError):
    """The database could not be reached or aborted the transaction retryably."""


class DiskFull(TransientError):
    """No space left where an outcome goes: the file waits in the spool, nothing half done."""


class ConfigurationError(IngestError):
    """Settings or deployed state that an operator must fix; never retried."""


class Rejected(IngestError):
    """The input is bad: permanent, recorded with a stable code and a detail."""

    def __init__(self, reason: str, detail: str, record: int | None = None) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.record = record
