"""Connections and the translation of driver errors at the database boundary.

- A lost connection, a serialization failure, a server starting or shutting
  down: `DatabaseUnavailable` (transient, retried). A server that refuses
  because it has too many clients says so in words a person can act on.
- A permission the login lacks: `ConfigurationError` (permanent; it names
  the login to use instead).
- Anything else propagates as is (the pipeline isolates it to one file).

Each worker process holds at most `db_pool_size` connections; a host holds
`concurrency x db_pool_size` (see the README's connection budget).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

import psycopg
import psycopg_pool

from worker.errors import ConfigurationError, DatabaseUnavailable

log = logging.getLogger(__name__)

#: Driver errors that pass: retry later.
TRANSIENT = (
    psycopg.OperationalError,
    psycopg.errors.SerializationFailure,
    psycopg.errors.DeadlockDetected,
    psycopg.errors.AdminShutdown,
    psycopg.errors.CannotConnectNow,
    psycopg_pool.PoolTimeout,
)


_TOO_MANY = (
    "too many clients",
    "remaining connection slots are reserved",
    "too many connections for role",
    "too many connections for database",
)


def _why_no_connection(url: str) -> str:
    # A pool's timeout carries no cause (its own warning does, in psycopg_pool's
    # log): one direct attempt brings the server's words back.
    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.Error as exc:
        return str(exc).strip()
    return ""


@contextlib.contextmanager
def wrap_errors(denied: str = "", url: str = "") -> Iterator[None]:
    """Translate driver errors; `denied` tells which login would be allowed.

    ``url``: where a pool connects, to explain a pool's timeout.
    """
    try:
        yield
    except psycopg.errors.InsufficientPrivilege as exc:
        hint = f" {denied}" if denied else ""
        raise ConfigurationError(
            f"the database refused: {exc.diag.message_primary}.{hint}"
        ) from exc
    except TRANSIENT as exc:
        message = str(exc)
        if isinstance(exc, psycopg_pool.PoolTimeout) and url and (why := _why_no_connection(url)):
            message = f"{message}: {why}"
        if any(phrase in message for phrase in _TOO_MANY):
            log.error(
                "PostgreSQL refuses new connections: too many clients for the server "
                "(max_connections), the role or the database (CONNECTION LIMIT). Each worker "
                "process holds up to db_pool_size connections: lower concurrency or "
                "db_pool_size on the worker hosts, or raise the limit on the server"
            )
        raise DatabaseUnavailable(f"database unavailable: {message}") from exc


def connect(url: str, **kwargs: object) -> psycopg.Connection[tuple[object, ...]]:
    with wrap_errors():
        return psycopg.connect(url, **kwargs)  # type: ignore[arg-type]


_pools: dict[str, psycopg_pool.ConnectionPool] = {}
_pools_lock = threading.Lock()


def pool(url: str, size: int = 1) -> psycopg_pool.ConnectionPool:
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


def forget_pools() -> None:
    """In a forked child: the parent's pools (and their sockets) are not ours."""
    with _pools_lock:
        _pools.clear()


def close_pools() -> None:
    with _pools_lock:
        for p in _pools.values():
            p.close()
        _pools.clear()
