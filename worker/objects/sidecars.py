"""Sidecars in an object store, as worker.files.outcomes keeps them in a folder.

The whole `.error.json` is written first under the claim's own pending key
(`errors/.pending/<claim_id>.json`, which records the outcome path); only
once the object has its outcome copy is it copied to
`errors/<outcome_path>.error.json` and the pending one deleted. A crash
between the steps leaves a pending sidecar that the next delivery, or the next
start of a worker, puts in place.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import botocore.exceptions

from worker.files.outcomes import PENDING, from_text, sidecar_path, to_text
from worker.objects.location import Location
from worker.objects.store import copy, delete, head, listing, reaching, status

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def _pending_key(files: Location, claim_id: str) -> str:
    return files.key(f"{PENDING}/{claim_id}.json")


def write_pending(
    s3: S3Client, files: Location, claim_id: str, outcome_path: str, data: dict[str, object]
) -> None:
    recorded = {**data, "outcome_path": to_text(outcome_path)}
    text = json.dumps(recorded, indent=2, ensure_ascii=False, default=str) + "\n"
    with reaching("write a sidecar"):
        s3.put_object(
            Bucket=files.bucket,
            Key=_pending_key(files, claim_id),
            Body=text.encode("utf-8"),
            ContentType="application/json",
        )


def place(s3: S3Client, files: Location, claim_id: str, outcome_path: str) -> str:
    """Put the claim's pending sidecar next to its outcome copy (known to exist)."""
    target = sidecar_path(outcome_path, claim_id)
    pending = _pending_key(files, claim_id)
    # Our own namespace: whatever is at the target is a stale copy for this path.
    if copy(s3, (files.bucket, pending), (files.bucket, files.key(target)), replace=True):
        delete(s3, files.bucket, pending)
    return target


def place_pending(s3: S3Client, files: Location) -> int:
    """Put in place every pending sidecar whose object has its outcome copy."""
    placed = 0
    for item in list(listing(s3, files.bucket, files.key(f"{PENDING}/"))):
        claim_id = files.relative(item.key).rsplit("/", 1)[-1].removesuffix(".json")
        outcome_path = _recorded_path(s3, files.bucket, item.key)
        if outcome_path is None or head(s3, files.bucket, files.key(outcome_path)) is None:
            continue  # not copied yet: the next delivery copies it first
        place(s3, files, claim_id, outcome_path)
        placed += 1
    return placed


def _recorded_path(s3: S3Client, bucket: str, key: str) -> str | None:
    with reaching("read a sidecar"):
        try:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except botocore.exceptions.ClientError as exc:
            if status(exc) == 404:
                return None
            raise
    try:
        return from_text(str(json.loads(body)["outcome_path"]))
    except (ValueError, KeyError, TypeError):
        return None
