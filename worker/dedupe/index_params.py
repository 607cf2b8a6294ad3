"""The MinHash parameters the near-duplicate index was built with, and the check against them.

Signatures made with other parameters cannot be compared: a worker refuses
to index into a database built with different ones (``ConfigurationError``
naming each difference) until ``ingest reindex`` rebuilds it deliberately.
"""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from worker import db
from worker.dedupe.minhash import MinHashParams
from worker.errors import ConfigurationError

# Columns of minhash_params besides `params` (the whole MinHashParams as JSON).
_COLUMNS = (
    "shingle_size",
    "num_perm",
    "bands",
    "rows",
    "seed",
    "threshold",
    "library",
    "scheme",
    "library_version",
    "algorithm_version",
)

# (database, params) pairs whose recorded parameters this process has checked.
_checked: set[tuple[str, MinHashParams]] = set()
_checked_lock = threading.Lock()


def _dsn(conn: psycopg.Connection[Any]) -> str:
    return conn.info.dsn


def _recorded(conn: psycopg.Connection[Any]) -> tuple[dict[str, Any] | None, bool]:
    """The recorded parameters (None when there are none) and whether documents exist."""
    row = conn.execute(db.query("neardup.params")).fetchone()
    if row is None:  # the query always returns one row
        raise RuntimeError("neardup_params returned no row")
    stored, any_document = row
    return stored, bool(any_document)


def _row(params: MinHashParams) -> dict[str, Any]:
    """Query parameters for the minhash_params row: the columns and the whole as JSON."""
    values = params.as_dict()
    return {
        **{name: values.get(name) for name in _COLUMNS},
        "seed": Decimal(params.seed),
        "params": Jsonb(values),
    }


def _compare(stored: dict[str, Any] | None, params: MinHashParams) -> None:
    if stored is None:
        raise ConfigurationError(
            "documents exist but the near-duplicate index records no MinHash parameters "
            "(documents stored before it, or the row was removed): run `ingest reindex`"
        )
    wanted = params.as_dict()
    diff = [
        f"{k}={stored.get(k)!r} (this worker: {wanted.get(k)!r})"
        for k in sorted(stored.keys() | wanted.keys())
        if stored.get(k) != wanted.get(k)
    ]
    if diff:
        raise ConfigurationError(
            "the near-duplicate index was built with other MinHash parameters: "
            + ", ".join(diff)
            + ". Run the matching version, or rebuild the index with `ingest reindex` "
            "after a deliberate change (stop the workers that use the old parameters first)."
        )


def ensure_params(conn: psycopg.Connection[Any], params: MinHashParams) -> None:
    """Check, once per process and database, that the index was built with ``params``.

    An empty database records them. Raises ConfigurationError on a mismatch.
    """
    key = (_dsn(conn), params)
    if key in _checked:
        return
    stored, any_document = _recorded(conn)
    if stored is None and not any_document:
        conn.execute(db.query("neardup.params_init"), _row(params))
        _compare(_recorded(conn)[0], params)
        return  # cached once committed: this batch may still roll back
    _compare(stored, params)
    with _checked_lock:
        _checked.add(key)


def verify(conn: psycopg.Connection[Any], params: MinHashParams) -> None:
    """Check the recorded parameters again, inside the batch's transaction."""
    # Every batch, after its insert: a rebuild with other parameters that
    # committed meanwhile (it blocks inserts while it runs) is noticed here,
    # before this batch writes old-style signatures into the new index.
    try:
        _compare(_recorded(conn)[0], params)
    except ConfigurationError:
        forget(conn)
        raise


def forget(conn: psycopg.Connection[Any]) -> None:
    """Drop this process's cached check for the connection's database."""
    dsn = _dsn(conn)
    with _checked_lock:
        for key in [k for k in _checked if k[0] == dsn]:
            _checked.discard(key)


def record(conn: psycopg.Connection[Any], params: MinHashParams) -> None:
    """Record ``params`` as the index's, replacing any (a rebuild does)."""
    conn.execute(db.query("neardup.params_set"), _row(params))
