"""Databases on a server we run: the embedded `ingest`, throw-away ones for tests and benchmarks."""

from __future__ import annotations

import uuid

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from worker.db import migrate
from worker.db.queries import query


def ensure_database(admin_url: str, name: str) -> None:
    """Create database `name` unless it exists (the embedded server's `ingest`)."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.execute(query("migrate.database_exists"), {"name": name}).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def create_database(admin_url: str, prefix: str = "t", template: str | None = None) -> str:
    """A new, uniquely named and migrated database; its URL.

    With `template` (the URL of a migrated database nobody is connected to) it
    is a copy of that one: a file-level clone, far cheaper than migrating.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        source = sql.Identifier(str(conninfo_to_dict(template)["dbname"]))
        statement += sql.SQL(" TEMPLATE {}").format(source)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(statement)
    url = make_conninfo(admin_url, dbname=name)
    if template is None:
        migrate.apply(url)
    return url


def drop_database(admin_url: str, url: str) -> None:
    """Drop the database `url` names, closing its sessions."""
    name = str(conninfo_to_dict(url)["dbname"])
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
