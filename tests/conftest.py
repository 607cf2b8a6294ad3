"""Real servers for the whole suite, from the same pip-installed binaries as `ingest up`.

- `pg_admin_url`: one embedded PostgreSQL per session.
- `database_url`: a fresh database per test, cloned from one migrated template.
- `broker`: one embedded Valkey per session, flushed before each test.
- `stack`: a real `ingest worker` and `ingest watch`, as subprocesses, per test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import Stack, server_dir
from worker.db.databases import create_database, drop_database
from worker.embedded import EmbeddedPostgres, EmbeddedValkey

# The three reference articles ship with the project; nothing is read from ../shared.
SAMPLES = Path(__file__).resolve().parents[1] / "samples"


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    with server_dir("pg") as root:
        postgres = EmbeddedPostgres(root)
        postgres.start()
        yield postgres.admin_url
        postgres.stop()


@pytest.fixture(scope="session")
def migrated_template(pg_admin_url: str) -> str:
    """A database migrated once per session; every test gets a clone of it."""
    return create_database(pg_admin_url, prefix="template")


@pytest.fixture
def database_url(pg_admin_url: str, migrated_template: str) -> Iterator[str]:
    url = create_database(pg_admin_url, template=migrated_template)
    yield url
    drop_database(pg_admin_url, url)


@pytest.fixture(scope="session")
def valkey(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedValkey]:
    server = EmbeddedValkey(tmp_path_factory.mktemp("valkey"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def broker_url(valkey: EmbeddedValkey) -> str:
    return valkey.empty_database(0)


@pytest.fixture
def stack(database_url: str, broker_url: str, tmp_path: Path) -> Iterator[Stack]:
    running = Stack(tmp_path, database_url, broker_url)
    yield running
    running.stop()


@pytest.fixture
def samples() -> list[Path]:
    found = sorted(SAMPLES.glob("*.txt"))
    assert len(found) == 3, f"expected the three reference articles in {SAMPLES}"
    return found


@pytest.fixture(autouse=True)
def _no_repo_config(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests set every value they need; a developer's config/ingest.toml must not leak in.
    monkeypatch.setenv("INGEST_CONFIG", os.devnull)
