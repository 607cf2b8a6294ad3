"""Least privilege on real PostgreSQL: readers only read, the writer cannot alter the schema."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tests.integration.test_pipeline import drop_and_claim
from tests.support import ingest_env, query
from worker import db
from worker.pipeline import process_batch
from worker.settings import Settings

READABLE = ("documents", "ingest_files", "rejections", "duplicate_records", "document_feed")
VIEWS = ("stories", "file_fates")


@pytest.fixture
def logins(database_url: str, pg_admin_url: str) -> Iterator[dict[str, str]]:
    """A writer and a reader login, created by `ingest migrate` as documented."""
    suffix = uuid.uuid4().hex[:8]
    names = {"writer": f"app_{suffix}", "reader": f"consumer_{suffix}"}
    env = ingest_env(
        INGEST_DATABASE_URL=database_url,
        INGEST_DB_WRITER_LOGIN=names["writer"],
        INGEST_DB_WRITER_PASSWORD="w-secret",
        INGEST_DB_READER_LOGIN=names["reader"],
        INGEST_DB_READER_PASSWORD="r-secret",
    )
    for _ in range(2):  # idempotent: the second run updates, nothing fails
        done = subprocess.run(
            [sys.executable, "-m", "worker", "migrate"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
    assert f"login: {names['writer']} (ingest_writer)" in done.stdout
    urls = {role: make_conninfo(database_url, user=name) for role, name in names.items()}
    yield urls
    db.close_pools()
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        for name in names.values():
            conn.execute(f'DROP ROLE IF EXISTS "{name}"')


def denied(url: str, statement: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        try:
            conn.execute(statement)
        except psycopg.errors.InsufficientPrivilege:
            return True
    return False


def test_logins_are_members_with_passwords(database_url: str, logins: dict[str, str]) -> None:
    rows = query(
        database_url,
        "SELECT g.rolname AS grp, g.rolcanlogin AS group_login, r.rolcanlogin, r.rolsuper,"
        " r.rolpassword IS NOT NULL AS has_password"
        " FROM pg_authid r JOIN pg_auth_members m ON m.member = r.oid"
        " JOIN pg_roles g ON g.oid = m.roleid WHERE r.rolname = ANY(%s)",
        ([conninfo_to_dict(url)["user"] for url in logins.values()],),
    )
    assert sorted(r["grp"] for r in rows) == ["ingest_reader", "ingest_writer"]
    for row in rows:
        assert row["rolcanlogin"] and not row["rolsuper"] and row["has_password"]
        assert not row["group_login"], "the group roles themselves cannot log in"


def test_reader_reads_the_documented_tables_and_nothing_else(logins: dict[str, str]) -> None:
    reader = logins["reader"]
    with psycopg.connect(reader, autocommit=True) as conn:
        for name in (*READABLE, *VIEWS):
            conn.execute(f"SELECT * FROM {name} LIMIT 1")
        conn.execute("SELECT * FROM feed_since('0', 0)")
    assert denied(reader, "SELECT * FROM schema_migrations")
    for statement in (
        "INSERT INTO ingest_files (claim_id, name) VALUES ('x', 'x')",
        "UPDATE documents SET title = 'x'",
        "DELETE FROM ingest_files",
        "DELETE FROM document_feed",
        "TRUNCATE rejections",
        "DROP TABLE documents",
        "ALTER TABLE documents ADD COLUMN x int",
        "DROP VIEW stories",
        "CREATE TABLE mine (x int)",
    ):
        assert denied(reader, statement), statement


def test_writer_runs_the_pipeline_but_cannot_change_the_schema(
    tmp_path: Path, database_url: str, logins: dict[str, str], samples: list[Path]
) -> None:
    writer = logins["writer"]
    settings = Settings(database_url=writer, inbox=tmp_path / "inbox")
    claims = [drop_and_claim(settings, p.name, p.read_bytes()) for p in samples]
    claims.append(drop_and_claim(settings, "again.txt", samples[0].read_bytes()))
    claims.append(drop_and_claim(settings, "bad.txt", b"no date header here at all, sorry"))
    report = process_batch(settings, claims)
    assert sorted(report.fates.values()) == ["duplicate", "rejected", "stored", "stored", "stored"]
    assert len(query(database_url, "SELECT * FROM document_feed")) == 3  # the trigger ran as it
    for statement in (
        "DROP TABLE documents",
        "DROP TABLE document_feed",
        "ALTER TABLE documents ADD COLUMN x int",
        "ALTER TABLE ingest_files DROP CONSTRAINT ingest_files_claim_id_key",
        "TRUNCATE ingest_files",
        "DROP VIEW stories",
        "DROP FUNCTION feed_since",
        "CREATE TABLE mine (x int)",
        "DELETE FROM schema_migrations",
    ):
        assert denied(writer, statement), statement
