"""Helpers for tests of the S3 inbox: a bucket area per test, processes that share no disk."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import botocore.exceptions
import pytest

from tests.support import ingest_env, query, stop_group, wait_for
from worker.embedded.seaweed import EmbeddedSeaweed
from worker.files.claims import Claim
from worker.objects.listing import inbox_claims
from worker.objects.location import Location
from worker.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

BUCKET = "ingest"


def article(i: int, extra: str = "") -> str:
    """A small valid article, unique per `i` and `extra`."""
    return (
        f"date 2021-03-{1 + i % 28:02d} Object number {i} reports on upload number {i}.\n\n"
        f"Paragraph with the marker {i}-{extra} and enough words to pass validation.\n"
    )


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()  # what S3 puts in a single-part ETag


class Area:
    """A prefix of the shared bucket for one test: its inbox and its files prefix."""

    @classmethod
    def entered(cls, seaweed: EmbeddedSeaweed, monkeypatch: pytest.MonkeyPatch) -> Area:
        """A new area, with the store's endpoint and credentials in this test's environment."""
        for key, value in seaweed.environment().items():
            monkeypatch.setenv(key, value)
        return cls(seaweed)

    def __init__(self, seaweed: EmbeddedSeaweed) -> None:
        self.seaweed = seaweed
        self.s3: S3Client = seaweed.client()
        self.root = f"t{uuid.uuid4().hex[:10]}/"
        self.inbox = Location(BUCKET, f"{self.root}inbox/")
        self.files = Location(BUCKET, f"{self.root}inbox.ingest/")

    def settings(self, **values: Any) -> Settings:
        """Settings as a process of the stack has them (the AWS variables are set too)."""
        values = {"s3_endpoint_url": self.seaweed.endpoint_url, **values}
        return Settings(inbox=self.inbox.url(), **values)

    def upload(self, name: str, data: bytes | str, *, where: Location | None = None) -> str:
        """Put an object (a name relative to the inbox); its ETag, unquoted."""
        body = data.encode() if isinstance(data, str) else data
        at = where or self.inbox
        return self.s3.put_object(Bucket=at.bucket, Key=at.key(name), Body=body)["ETag"].strip('"')

    def keys(self, where: Location, under: str = "") -> dict[str, str]:
        """Relative key -> ETag of every object under `where` + `under`."""
        found: dict[str, str] = {}
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=where.bucket, Prefix=where.key(under)
        )
        for page in pages:
            for item in page.get("Contents", []):
                found[where.relative(item["Key"])] = item["ETag"].strip('"')
        return found

    def read(self, where: Location, relative: str) -> bytes:
        return self.s3.get_object(Bucket=where.bucket, Key=where.key(relative))["Body"].read()

    def claims(self) -> list[Claim]:
        """The claims a watcher would publish now."""
        return inbox_claims(self.s3, self.inbox)


def worker_command(concurrency: int = 2) -> list[str]:
    """`ingest worker`, as an operator runs it on a worker host."""
    return [sys.executable, "-m", "worker", "worker", "--concurrency", str(concurrency)]


class S3Stack:
    """Watchers and workers on one S3 inbox, each in a folder and data dir of its own."""

    def __init__(
        self, root: Path, area: Area, database_url: str, broker_url: str, **settings: str
    ) -> None:
        self.root = root
        self.area = area
        self.database_url = database_url
        self.env = ingest_env(
            INGEST_DATABASE_URL=database_url,
            INGEST_BROKER_URL=broker_url,
            INGEST_INBOX=area.inbox.url(),
            INGEST_CONCURRENCY="2",
            INGEST_LOG_LEVEL="INFO",
            **area.seaweed.environment(),
            **settings,
        )
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, key: str, command: list[str]) -> subprocess.Popen[bytes]:
        """A process in `<root>/<key>/` with its own data dir: no two share a folder."""
        home = self.root / key
        (home / "data").mkdir(parents=True, exist_ok=True)
        log = open(home / "out.log", "ab")  # noqa: SIM115 - lives as long as the process
        process = subprocess.Popen(
            command,
            cwd=home,
            env={**self.env, "INGEST_DATA_DIR": str(home / "data")},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes[key] = process
        return process

    def start_watcher(self, key: str = "watcher") -> subprocess.Popen[bytes]:
        return self.start(key, [sys.executable, "-m", "worker", "watch"])

    def start_worker(self, key: str = "worker", concurrency: int = 2) -> subprocess.Popen[bytes]:
        return self.start(key, worker_command(concurrency))

    def stop_process(self, key: str, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
        stop_group(self.processes.pop(key), sig, timeout)

    def stop(self) -> None:
        for key in list(self.processes):
            self.stop_process(key)

    def log(self, key: str) -> str:
        path = self.root / key / "out.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def logs(self) -> str:
        return "\n".join(f"--- {k} ---\n{self.log(k)[-3000:]}" for k in sorted(self.processes))

    def files(self) -> list[dict[str, Any]]:
        return query(self.database_url, "SELECT * FROM ingest_files ORDER BY id")

    def wait_finished(self, count: int, timeout: float = 60.0) -> list[dict[str, Any]]:
        def done() -> list[dict[str, Any]] | None:
            rows = [r for r in self.files() if r["status"] != "processing"]
            return rows if len(rows) >= count else None

        try:
            return wait_for(done, timeout, 0.2, f"{count} finished objects")
        except AssertionError:
            finished = len([r for r in self.files() if r["status"] != "processing"])
            raise AssertionError(f"{finished} of {count} finished\n{self.logs()}") from None

    def wait_inbox_empty(self, timeout: float = 30.0) -> None:
        wait_for(lambda: not self.area.keys(self.area.inbox), timeout, 0.2, "an empty inbox")


def upload_patiently(area: Area, name: str, data: bytes | str, timeout: float = 60) -> str:
    """Upload as a producer does: again and again while the store is unreachable."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return area.upload(name, data)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def trickle(area: Area, uploads: dict[str, bytes], seconds: float) -> threading.Thread:
    """Objects keep arriving for `seconds` (through an outage: each upload retried)."""

    def run() -> None:
        for name, data in uploads.items():
            upload_patiently(area, name, data)
            time.sleep(seconds / len(uploads))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def assert_exactly_once(stack: S3Stack, uploads: dict[str, bytes]) -> list[dict[str, Any]]:
    """Each upload: one ledger row, stored, one document, its bytes at its outcome path,
    and nothing left in the inbox."""
    rows = stack.files()
    names = Counter(r["name"] for r in rows)
    assert set(names) == set(uploads), "lost or unexpected objects"
    assert max(names.values()) == 1, f"objects registered twice: {names.most_common(3)}"
    others = [(r["name"], r["status"], r["reason"]) for r in rows if r["status"] != "stored"]
    assert Counter(r["status"] for r in rows) == {"stored": len(uploads)}, others[:5]
    docs = query(stack.database_url, "SELECT count(DISTINCT file_id) AS n FROM documents")
    assert docs == [{"n": len(uploads)}]
    stack.wait_inbox_empty()
    kept = stack.area.keys(stack.area.files)
    for row in rows:
        assert kept.get(row["outcome_path"]) == md5(uploads[row["name"]]), row
    return rows
