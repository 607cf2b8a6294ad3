"""The object-store inbox as the pipeline and the operator commands see it.

Outcome paths are the folder inbox's (`processed/<name>`, `errors/...`),
relative to the files prefix. Objects are never renamed (S3 cannot): a
claimed object stays in the inbox prefix until its fate is committed, then

1. it is copied to its outcome path with `If-None-Match: *` (the copy never
   replaces anything; it carries its claim id as metadata, so a delivery
   that finds its own earlier copy there goes on) and `x-amz-copy-source-if-match`
   on the claimed ETag (only the claimed object is copied);
2. it is deleted from the inbox, and only if it is still the claimed object:
   a HEAD right before the delete compares ETag and upload time, and the
   DELETE carries `If-Match` on the ETag. A different object uploaded under
   the same key meanwhile is left for its own claim. The one window left: a
   byte-identical object (same ETag) uploaded in the instant between that
   HEAD and the DELETE is deleted with the original (a server that ignores
   If-Match on DELETE widens it to any object; SeaweedFS and AWS honour it).

Reads carry `If-Match` too, and the size limit applies to Content-Length
before the body is read (worker.objects.reading). An object replaced by
another upload after its read but before its copy has no outcome copy (the
producer replaced its bytes in the store; the new object is its own claim):
the delivery finds nothing to copy (`Moved.ALREADY`), and the outcome path
the ledger records names nothing.
"""

from __future__ import annotations

import errno
import logging
import time
from collections.abc import Sequence
from pathlib import PurePosixPath

import botocore.exceptions

from worker.fates import Fate
from worker.files.claims import Claim
from worker.files.outcomes import Moved, preferred, sidecar_path
from worker.files.source import Read
from worker.objects import sidecars
from worker.objects.listing import spool_key, uploaded_ns
from worker.objects.location import Location
from worker.objects.reading import ReadAhead, read_object
from worker.objects.store import MAX_KEY_BYTES, client, copy, delete, head, reaching, status
from worker.settings import Settings

log = logging.getLogger(__name__)

_NS = 1_000_000_000


class S3Source:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.inbox = Location.parse(settings.inbox_location)
        self.files = Location.parse(settings.files_location)
        self.s3 = client(settings.s3_endpoint_url)
        self._ahead = ReadAhead(self._read_now)

    def close(self) -> None:
        self._ahead.close()  # the client is the process's, kept for the next batch

    def _where(self, claim: Claim) -> tuple[str, str]:
        """The claimed object: in the inbox (a watcher's claim) or the spool (a retry)."""
        if claim.etag is not None:
            return self.inbox.bucket, self.inbox.key(claim.name)
        return self.files.bucket, self.files.key(spool_key(claim))

    # -- the pipeline ---------------------------------------------------------

    def read(self, claim: Claim, limit: int) -> Read:
        """The claimed object's bytes (see worker.objects.reading.read_object)."""
        return self._ahead.read(claim, limit)

    def prefetch(self, claims: Sequence[Claim], limit: int) -> None:
        """The pipeline reads these claims next, in this order: start reading ahead."""
        self._ahead.expect(claims, limit)

    def _read_now(self, claim: Claim, limit: int) -> Read:
        return read_object(self.s3, *self._where(claim), claim.etag, limit)

    def choose(self, fate: Fate, name: str, claim_id: str) -> str:
        """The object's own name; no request here (this runs inside the batch's
        transaction): a taken name is found by the conditional copy, and the
        delivery records the claim's own name instead (worker.pipeline.finish)."""
        path = preferred(fate, name)
        if len(self.files.key(path).encode()) <= MAX_KEY_BYTES - 64:
            return path
        return f"{fate.folder}/{claim_id}{PurePosixPath(name).suffix[:16]}"

    def deliver(self, claim: Claim, path: str, sidecar: dict[str, object] | None) -> Moved:
        """Sidecar (pending) first, then copy and delete, then the sidecar in place.
        TAKEN: the path holds another object; nothing copied or deleted."""
        if sidecar is not None:
            sidecars.write_pending(self.s3, self.files, claim.claim_id, path, sidecar)
        moved = self._move(claim, path)
        if sidecar is not None and (moved is Moved.MOVED or self._copied(claim, path)):
            sidecars.place(self.s3, self.files, claim.claim_id, path)
        return moved

    def _copied(self, claim: Claim, path: str) -> bool:
        found = head(self.s3, self.files.bucket, self.files.key(path))
        return found is not None and found.claim == claim.claim_id

    def _move(self, claim: Claim, path: str) -> Moved:
        source = self._where(claim)
        target = (self.files.bucket, self.files.key(path))
        if not copy(self.s3, source, target, etag=claim.etag, claim=claim.claim_id):
            there = head(self.s3, *target)
            if there is None:
                return Moved.ALREADY  # the claimed object is no longer there
            if there.claim != claim.claim_id:
                return Moved.TAKEN
            # Our own copy from an earlier delivery: the delete may be all that is left.
        if claim.etag is None:
            delete(self.s3, *source)  # the spool is ours: nobody uploads there
        else:
            self._delete_claimed(claim, *source)
        return Moved.MOVED

    def _delete_claimed(self, claim: Claim, bucket: str, key: str) -> None:
        now = head(self.s3, bucket, key)
        if now is None:
            return
        assert claim.etag is not None
        if now.etag != claim.etag or now.last_modified_ns // _NS != uploaded_ns(claim) // _NS:
            log.info(
                "claim %s: %s was uploaded again; the new object is left for its own claim",
                claim.claim_id,
                self.inbox.url(claim.name),
            )
            return
        delete(self.s3, bucket, key, claim.etag)

    def place_pending(self) -> int:
        return sidecars.place_pending(self.s3, self.files)

    # -- the operator's commands ----------------------------------------------

    def kept(self, path: str) -> int | None:
        found = head(self.s3, self.files.bucket, self.files.key(path))
        return None if found is None else found.size

    def read_kept(self, path: str, limit: int) -> bytes | None:
        with reaching("read"):
            try:
                found = self.s3.get_object(
                    Bucket=self.files.bucket, Key=self.files.key(path), Range=f"bytes=0-{limit}"
                )
            except botocore.exceptions.ClientError as exc:
                if status(exc) == 416:  # an empty object has no byte 0
                    return b""
                if status(exc) == 404:
                    return None
                raise
            body = found["Body"]
            try:
                return body.read(limit + 1)
            finally:
                body.close()

    def remove(self, path: str, claim_id: str, *, sidecar: bool) -> None:
        delete(self.s3, self.files.bucket, self.files.key(path))
        if sidecar:
            delete(self.s3, self.files.bucket, self.files.key(sidecar_path(path, claim_id)))

    def requeue(self, path: str, claim: Claim) -> None:
        """Into the spool prefix under its claim (`ingest retry`); the sidecar goes."""
        kept = (self.files.bucket, self.files.key(path))
        spooled = (self.files.bucket, self.files.key(spool_key(claim)))
        if not copy(self.s3, kept, spooled, replace=True):
            raise FileNotFoundError(errno.ENOENT, "no object kept", self.files.url(path))
        delete(self.s3, *kept)
        delete(self.s3, self.files.bucket, self.files.key(sidecar_path(path, claim.claim_id)))

    def release(self, path: str, name: str, claim_id: str) -> bool:
        """Back into the inbox prefix under its name as dropped (a new upload, so a new
        claim); False if an object has that name."""
        kept = (self.files.bucket, self.files.key(path))
        # The new upload must have another claim id than the original: LastModified
        # has whole seconds, so never in the second the original was uploaded in.
        wait = (int(claim_id.split("-", 1)[0], 16) // _NS + 2) - time.time()
        if wait > 0:
            time.sleep(wait)
        if not copy(self.s3, kept, (self.inbox.bucket, self.inbox.key(name))):
            return False
        delete(self.s3, *kept)
        delete(self.s3, self.files.bucket, self.files.key(sidecar_path(path, claim_id)))
        return True

    def location(self, path: str) -> str:
        return self.files.url(path)
