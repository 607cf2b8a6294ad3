"""Numbered .sql migrations recorded in `schema_migrations`; applying is idempotent."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from importlib import resources

import psycopg

from worker.db.pool import connect, wrap_errors
from worker.db.queries import query

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{3,})_[a-z0-9_]+\.sql$")
# Serialises concurrent `ingest migrate` runs (compose may start several).
_LOCK_KEY = 0x1A6E57_0001


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def available() -> list[Migration]:
    folder = resources.files("worker.db").joinpath("sql", "migrations")
    found = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"duplicate migration numbers: {versions}")
    return found


def apply(url: str) -> list[str]:
    """Apply pending migrations in order, each in its own transaction."""
    applied_now: list[str] = []
    lock = {"key": _LOCK_KEY}
    with connect(url, autocommit=True) as conn, wrap_errors():
        conn.execute(query("migrate.lock"), lock)
        try:
            conn.execute(query("migrate.create_record"))
            done = {row[0]: row[1] for row in conn.execute(query("migrate.applied"))}
            for migration in available():
                if migration.version in done:
                    if done[migration.version] != migration.checksum:
                        log.warning("migration %s changed after it was applied", migration.name)
                    continue
                _apply_one(conn, migration)
                applied_now.append(migration.name)
        finally:
            conn.execute(query("migrate.unlock"), lock)
    return applied_now


def _apply_one(conn: psycopg.Connection[tuple[object, ...]], migration: Migration) -> None:
    log.info("applying migration %s", migration.name)
    with conn.transaction():
        conn.execute(migration.sql.encode())  # type: ignore[call-overload,unused-ignore]
        conn.execute(
            query("migrate.record"),
            {"version": migration.version, "name": migration.name, "checksum": migration.checksum},
        )
