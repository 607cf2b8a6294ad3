"""From a listing to claims: one claim per object, the same from every watcher.

An object is identified by bucket, key and ETag, and by when it was uploaded:
its claim id is `<LastModified in ns, 16 hex>-<8 hex of sha256(bucket/key/etag)>`,
in the claim-id format of the folder watcher. Two watchers listing the same
object publish the same claim id, and the ledger's unique claim id with the
workers' per-claim locks make it one file; an object uploaded again under the
same key (another ETag, or a later LastModified) is another claim. No time
cursor: an object is never skipped for being late or in the same second.

Objects `ingest retry` put back wait under `<files>/spool/<claim id>/<name>`:
outside the inbox prefix, so the watcher does not take them as new uploads.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from worker.constants import SPOOL_FOLDER
from worker.files.claims import Claim, InvalidClaim, check_etag, check_name, claimed_at, is_junk
from worker.objects.location import Location
from worker.objects.store import ObjectInfo, listing

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)

SPOOL = f"{SPOOL_FOLDER}/"


def claim_id(bucket: str, key: str, etag: str, last_modified_ns: int) -> str:
    digest = hashlib.sha256(f"{bucket}/{key}/{etag}".encode()).hexdigest()[:8]
    return f"{last_modified_ns:016x}-{digest}"


def uploaded_ns(claim: Claim) -> int:
    """When the claimed object was uploaded (the first half of its claim id)."""
    return int(claim.claim_id.split("-", 1)[0], 16)


def claim_for(inbox: Location, found: ObjectInfo) -> Claim | None:
    """The claim for a listed object; None for names the watcher never takes."""
    name = inbox.relative(found.key)
    if is_junk(name):
        return None
    try:
        check_name(name)
    except InvalidClaim:
        return None
    if not check_etag(found.etag):
        log.warning(
            "object %s has an ETag of a form no claim carries (%r); left in the inbox",
            inbox.url(name),
            found.etag[:80],
        )
        return None
    made = claim_id(inbox.bucket, found.key, found.etag, found.last_modified_ns)
    return Claim(made, name, claimed_at(made).isoformat(), etag=found.etag)


def inbox_claims(s3: S3Client, inbox: Location) -> list[Claim]:
    """A claim for every object under the inbox prefix (oldest first)."""
    found = (claim_for(inbox, item) for item in listing(s3, inbox.bucket, inbox.prefix))
    return sorted((c for c in found if c is not None), key=lambda c: c.claim_id)


def spool_key(claim: Claim) -> str:
    """Where a requeued claim's object waits, relative to the files prefix."""
    return f"{SPOOL}{claim.claim_id}/{claim.name}"


def spool_claims(s3: S3Client, files: Location) -> list[Claim]:
    """Every claim `ingest retry` put back under the files prefix's spool."""
    return list(_spooled(listing(s3, files.bucket, files.key(SPOOL)), files))


def _spooled(found: Iterable[ObjectInfo], files: Location) -> Iterator[Claim]:
    for item in found:
        claim_id_, _, name = files.relative(item.key)[len(SPOOL) :].partition("/")
        try:
            yield Claim.from_json({"claim_id": claim_id_, "name": name})
        except InvalidClaim:
            log.warning("spool object %s is not a claim; left alone", files.url(item.key))


@dataclass(frozen=True, slots=True)
class Count:
    objects: int
    oldest_ns: int | None
    oldest_name: str | None


def count(s3: S3Client, where: Location, prefix: str, limit: int) -> Count:
    """Objects under `where` + `prefix` (no further than `limit`), and the oldest of them."""
    total, oldest, oldest_name = 0, None, None
    for item in listing(s3, where.bucket, where.key(prefix)):
        total += 1
        if oldest is None or item.last_modified_ns < oldest:
            oldest, oldest_name = item.last_modified_ns, where.relative(item.key)
        if total >= limit:
            break
    return Count(total, oldest, oldest_name)
