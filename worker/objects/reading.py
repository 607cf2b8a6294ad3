"""Reading claimed objects: conditional, size-limited, and optionally a few ahead.

Each read is a GET with `If-Match` on the claimed ETag; the size limit applies
to Content-Length before the body is read. Against a remote store most of a
read is waiting, so `ReadAhead` keeps up to `WINDOW` reads of a batch in
flight on threads while the pipeline examines the ones before: memory stays
bounded by the window (at most `WINDOW` + 1 objects of up to the size limit).
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import botocore.exceptions

from worker.errors import Rejected
from worker.files.claims import Claim
from worker.files.source import Read, too_large
from worker.objects.store import quoted, reaching, status

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

WINDOW = 8


def read_object(s3: S3Client, bucket: str, key: str, etag: str | None, limit: int) -> Read:
    """The object's bytes; Rejected (too_large), FileNotFoundError (gone, or replaced by
    another upload), OSError (refused), StoreUnavailable (an outage)."""
    condition: dict[str, Any] = {} if etag is None else {"IfMatch": quoted(etag)}
    try:
        with reaching("read"):
            found = s3.get_object(Bucket=bucket, Key=key, **condition)
    except botocore.exceptions.ClientError as exc:
        # What `reaching` lets through is the store's answer about this object; a
        # server error or a busy store became StoreUnavailable there (transient).
        raise _read_error(exc, key) from exc
    with reaching("read"):
        body = found["Body"]
        try:
            if found["ContentLength"] > limit:
                raise too_large(found["ContentLength"], limit)
            raw = body.read(limit + 1)
        finally:
            body.close()
    if len(raw) > limit:
        raise Rejected("too_large", f"The object grew beyond the limit of {limit} bytes.")
    return Read(raw)


def _read_error(exc: botocore.exceptions.ClientError, key: str) -> OSError:
    if status(exc) in (404, 412):  # gone, or replaced by another upload (its own claim)
        return FileNotFoundError(errno.ENOENT, "the claimed object is gone", key)
    if status(exc) == 403:
        return PermissionError(errno.EACCES, "Access denied by the object store", key)
    return OSError(errno.EIO, str(exc), key)


class ReadAhead:
    """Reads of a known sequence of claims, up to WINDOW ahead of the one asked for."""

    def __init__(self, read: Callable[[Claim, int], Read]) -> None:
        self._read = read
        self._order: list[Claim] = []
        self._limit = 0
        self._next = 0  # index of the next claim to submit
        self._futures: dict[str, Future[Read]] = {}
        self._pool: ThreadPoolExecutor | None = None

    def expect(self, claims: Sequence[Claim], limit: int) -> None:
        self._order, self._limit, self._next = list(claims), limit, 0
        self._fill(WINDOW)

    def read(self, claim: Claim, limit: int) -> Read:
        future = self._futures.pop(claim.claim_id, None)
        if future is None or limit != self._limit:
            return self._read(claim, limit)
        self._fill(WINDOW)
        return future.result()  # the read's own exception, if it raised

    def _fill(self, window: int) -> None:
        while self._next < len(self._order) and len(self._futures) < window:
            claim = self._order[self._next]
            self._next += 1
            if self._pool is None:
                self._pool = ThreadPoolExecutor(WINDOW, thread_name_prefix="read-ahead")
            self._futures[claim.claim_id] = self._pool.submit(self._read, claim, self._limit)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._futures.clear()
