"""Login users for the NOLOGIN roles of migration 003 (ingest_writer, ingest_reader).

Run by `ingest migrate` as the owner of the schema: roles are cluster-wide, so
a login is created when missing and its password updated otherwise.
"""

from __future__ import annotations

import logging

from psycopg import errors, sql

from worker.db.pool import connect, wrap_errors
from worker.db.queries import query
from worker.settings import Settings

log = logging.getLogger(__name__)

WRITER = "ingest_writer"
READER = "ingest_reader"


def ensure_login(url: str, name: str, password: str | None, member_of: str) -> None:
    """Create or update login `name` as a member of `member_of` (None: no password)."""
    with connect(url, autocommit=True) as conn, wrap_errors():
        exists = conn.execute(query("migrate.role_exists"), {"name": name}).fetchone()
        # Utility statements take no parameters: the password goes as a quoted literal.
        options = sql.SQL("LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {}").format(
            sql.Literal(password)
        )
        if exists:
            conn.execute(sql.SQL("ALTER ROLE {} ").format(sql.Identifier(name)) + options)
        else:
            try:
                conn.execute(sql.SQL("CREATE ROLE {} ").format(sql.Identifier(name)) + options)
            except errors.DuplicateObject:  # created concurrently: update it instead
                conn.execute(sql.SQL("ALTER ROLE {} ").format(sql.Identifier(name)) + options)
        conn.execute(
            sql.SQL("GRANT {} TO {}").format(sql.Identifier(member_of), sql.Identifier(name))
        )
    log.info("login %s is a member of %s", name, member_of)


def ensure_configured_logins(url: str, settings: Settings) -> list[str]:
    """The logins named in the settings (db_writer_login, db_reader_login)."""
    done = []
    for login, secret, role in (
        (settings.db_writer_login, settings.db_writer_password, WRITER),
        (settings.db_reader_login, settings.db_reader_password, READER),
    ):
        if login:
            ensure_login(url, login, secret.get_secret_value() if secret else None, role)
            done.append(f"{login} ({role})")
    return done
