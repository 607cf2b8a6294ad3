"""The object store through boto3: one client per process, errors in our terms.

Credentials and region come from boto3's standard chain (AWS_* variables,
~/.aws files, instance roles); `s3_endpoint_url` points at any S3-compatible
server. Without any credentials, requests go unsigned (a server that allows
anonymous access). Connection trouble and server errors (5xx, SlowDown) are
`StoreUnavailable`, a transient error: a batch that meets one is retried with
back-off, and no object is judged by an outage.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import botocore.exceptions
from botocore import UNSIGNED
from botocore.config import Config

from worker.errors import TransientError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)
# boto3 says at INFO which credential source it used, once per process: on every
# operator command's terminal that is noise. Its warnings still show.
logging.getLogger("botocore.credentials").setLevel(logging.WARNING)

#: User metadata on every outcome copy: the claim it belongs to.
CLAIM_META = "ingest-claim"
MAX_KEY_BYTES = 1024

_clients: dict[tuple[int, str | None], S3Client] = {}
_lock = threading.Lock()
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_BUSY = ("SlowDown", "RequestTimeout", "ServiceUnavailable", "ConditionalRequestConflict")


class StoreUnavailable(TransientError):
    """The object store could not be reached, or answered with a server error."""


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    key: str
    etag: str  # without quotes
    size: int
    last_modified_ns: int
    claim: str | None = None  # CLAIM_META, when a HEAD saw it


def client(endpoint_url: str | None) -> S3Client:
    """This process's client (boto3 clients are thread-safe, not fork-safe)."""
    key = (os.getpid(), endpoint_url)
    with _lock:
        found = _clients.get(key)
        if found is None:
            found = _clients[key] = _new_client(endpoint_url)
        return found


def _new_client(endpoint_url: str | None) -> S3Client:
    session = boto3.session.Session()
    options: dict[str, Any] = {
        "retries": {"mode": "standard", "max_attempts": 3},
        "connect_timeout": 3,
        "read_timeout": 30,
        "max_pool_connections": 32,
    }
    if session.get_credentials() is None:
        log.warning("no AWS credentials found: requests to the object store are anonymous")
        options["signature_version"] = UNSIGNED
    return session.client("s3", endpoint_url=endpoint_url, config=Config(**options))


def status(exc: botocore.exceptions.ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def code(exc: botocore.exceptions.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextlib.contextmanager
def reaching(what: str) -> Iterator[None]:
    """Connection trouble and server errors inside become StoreUnavailable."""
    try:
        yield
    except (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError) as exc:
        raise StoreUnavailable(f"object store unreachable ({what}): {exc}") from exc
    except botocore.exceptions.ClientError as exc:
        if status(exc) >= 500 or code(exc) in _BUSY:
            raise StoreUnavailable(f"object store error ({what}): {exc}") from exc
        raise


def quoted(etag: str) -> str:
    return f'"{etag}"'


def unquoted(etag: str) -> str:
    return etag.strip('"')


def nanoseconds(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND * 1000


def head(s3: S3Client, bucket: str, key: str) -> ObjectInfo | None:
    """The object's ETag, size, modification time and claim; None if there is none."""
    with reaching("head"):
        try:
            found = s3.head_object(Bucket=bucket, Key=key)
        except botocore.exceptions.ClientError as exc:
            if status(exc) == 404:
                return None
            raise
    return ObjectInfo(
        key,
        unquoted(found["ETag"]),
        found["ContentLength"],
        nanoseconds(found["LastModified"]),
        found.get("Metadata", {}).get(CLAIM_META),
    )


def listing(s3: S3Client, bucket: str, prefix: str) -> Iterator[ObjectInfo]:
    """Every object under the prefix, in key order (pages of 1,000)."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    with reaching("list"):
        for page in pages:
            for item in page.get("Contents", []):
                yield ObjectInfo(
                    item["Key"],
                    unquoted(item["ETag"]),
                    item["Size"],
                    nanoseconds(item["LastModified"]),
                )


def delete(s3: S3Client, bucket: str, key: str, etag: str | None = None) -> bool:
    """Delete the object (only if it still has `etag`, when given); False if not deleted."""
    condition: dict[str, Any] = {} if etag is None else {"IfMatch": quoted(etag)}
    with reaching("delete"):
        try:
            s3.delete_object(Bucket=bucket, Key=key, **condition)
        except botocore.exceptions.ClientError as exc:
            if status(exc) in (404, 412):
                return False
            raise
    return True


def copy(
    s3: S3Client,
    source: tuple[str, str],
    target: tuple[str, str],
    *,
    etag: str | None = None,
    claim: str | None = None,
    replace: bool = False,
) -> bool:
    """Copy an object (only the one with `etag`, when given) to a key that must be free
    (unless `replace`); False when a precondition failed or the source is gone."""
    options: dict[str, Any] = {}
    if etag is not None:
        options["CopySourceIfMatch"] = quoted(etag)
    if not replace:
        options["IfNoneMatch"] = "*"
    if claim is not None:
        options["Metadata"] = {CLAIM_META: claim}
        options["MetadataDirective"] = "REPLACE"
    with reaching("copy"):
        try:
            s3.copy_object(
                Bucket=target[0],
                Key=target[1],
                CopySource={"Bucket": source[0], "Key": source[1]},
                **options,
            )
        except botocore.exceptions.ClientError as exc:
            if status(exc) in (404, 412):
                return False
            raise
    return True
