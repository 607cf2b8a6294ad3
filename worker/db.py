"""Connections, named queries and the translation of driver errors.

Driver errors are translated here, at the boundary: a lost connection or a
serialization failure becomes `DatabaseUnavailable` (transient, retried);
anything else is a bug and propagates as is.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from functools import cache
from importlib import resources

import psycopg
import psycopg_pool
from psycopg import sql

from worker.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

_TRANSIENT = (
    psycopg.OperationalError,
    psycopg.errors.SerializationFailure,
    psycopg.errors.DeadlockDetected,
    psycopg.errors.AdminShutdown,
    psycopg.errors.CannotConnectNow,
    psycopg_pool.PoolTimeout,
)


@cache
def query(name: str) -> sql.SQL:
    """A named query from worker/sql/queries/<name>.sql, read once."""
    text = resources.files("worker").joinpath("sql", "queries", f"{name}.sql").read_text("utf-8")
    return sql.SQL(text)  # type: ignore[arg-type,unused-ignore]  # trusted text from the package


@contextlib.contextmanager
def wrap_errors() -> Iterator[None]:
    try:
        yield
    except _TRANSIENT as exc:
        raise DatabaseUnavailable(f"database unavailable: {exc}") from exc


def connect(url: str, **kwargs: object) -> psycopg.Connection[tuple[object, ...]]:
    with wrap_errors():
        return psycopg.connect(url, **kwargs)  # type: ignore[arg-type]


_pools: dict[str, psycopg_pool.ConnectionPool] = {}
_pools_lock = threading.Lock()


def pool(url: str, size: int = 2) -> psycopg_pool.ConnectionPool:
    """One pool per process and URL, opened lazily (after a prefork fork)."""
    with _pools_lock:
        existing = _pools.get(url)
        if existing is None:
            existing = psycopg_pool.ConnectionPool(
                url,
                min_size=1,
                max_size=size,
                open=False,
                check=psycopg_pool.ConnectionPool.check_connection,
                timeout=10.0,
                name="ingest",
            )
            existing.open(wait=False)
            _pools[url] = existing
        return existing


def close_pools() -> None:
    with _pools_lock:
        for p in _pools.values():
            p.close()
        _pools.clear()
