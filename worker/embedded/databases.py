"""Throw-away databases on a running server, for the test fixtures and benchmarks."""

from __future__ import annotations

import uuid

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from worker import migrate


def create_database(admin_url: str, prefix: str = "t") -> str:
    """A new, uniquely named and migrated database; its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_conninfo(admin_url, dbname=name)
    migrate.apply(url)
    return url


def drop_database(admin_url: str, url: str) -> None:
    """Drop the database `url` names, closing its sessions."""
    name = str(conninfo_to_dict(url)["dbname"])
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
