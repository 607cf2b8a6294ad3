"""Servers the fault tests may stop and start again, and a stack factory over them.

The suite-wide servers in tests/conftest.py are shared by every test; these are
private to the fault tests so that stopping one for real breaks nothing else.
Same data directory and same port (Valkey) or socket (PostgreSQL) on restart,
like a real server coming back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import redis
from psycopg.conninfo import conninfo_to_dict

from tests.support import Stack, server_dir
from worker.db.databases import create_database, drop_database
from worker.embedded import EmbeddedPostgres, EmbeddedValkey

# A data path too long for a Unix socket name makes the embedded PostgreSQL put its
# socket in a private temp folder apart from its data; test_unreadable opens that
# folder and socket to a worker running without CAP_DAC_OVERRIDE (a test-only step).
LONG = "pg-" + "x" * 90


class RestartablePostgres:
    def __init__(self, root: Path) -> None:
        self.server = EmbeddedPostgres(root / LONG)
        self.server.start()
        self.url = self.server.admin_url

    def stop(self) -> None:
        self.server.stop(keep_socket_dir=True)

    def start(self) -> None:
        self.server.start()
        assert self.server.admin_url == self.url, "PostgreSQL came back on another socket"

    def open_socket_to_everyone(self) -> None:
        """Let a root process without CAP_DAC_OVERRIDE connect (test_unreadable)."""
        socket_dir = Path(str(conninfo_to_dict(self.url)["host"]))
        socket_dir.chmod(0o711)
        for sock in socket_dir.glob(".s.PGSQL.*"):
            if not sock.name.endswith(".lock"):
                sock.chmod(0o777)

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

    def stop(self) -> None:
        self.server.stop()

    def start(self) -> None:
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
    with server_dir("faults") as root:
        server = RestartablePostgres(root)
        yield server
        server.server.stop()


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


@pytest.fixture(scope="session")
def fault_template(restartable_pg: RestartablePostgres) -> str:
    return create_database(restartable_pg.url, prefix="ftemplate")


@pytest.fixture
def fault_db(pg: RestartablePostgres, fault_template: str) -> Iterator[str]:
    url = create_database(pg.url, prefix="f", template=fault_template)
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
