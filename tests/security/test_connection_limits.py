"""Item 14 (L): when PostgreSQL refuses connections, the worker says so and loses nothing.

A writer login (member of ingest_writer, as `ingest migrate` creates it) gets
`CONNECTION LIMIT 0`, as a hostile or careless administrator, or a flood of
connections, would leave it: the worker's log names the refusal; once the
limit is lifted, the waiting file is stored at its first attempt (an outage is
never held against a file).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from tests.security.attack import article, execute, open_stack, shared_root
from tests.security.conftest import NewServers
from tests.support import Stack, wait_for
from worker.db.roles import WRITER, ensure_login


@pytest.fixture(scope="module")
def limited(new_servers: NewServers, pg_admin_url: str) -> Iterator[tuple[Stack, str]]:
    database_url, broker_url = new_servers()
    login = f"sec_writer_{uuid.uuid4().hex[:8]}"
    ensure_login(database_url, login, "writer-password", WRITER)
    # Trust over the private socket: the login is what counts here, not its password.
    writer_url = make_conninfo(database_url, user=login)
    with shared_root("connlimit") as root:
        stack = open_stack(root, writer_url, broker_url, INGEST_POLL_INTERVAL_S="0.2")
        stack.database_url = database_url  # the test reads the ledger as the owner
        try:
            yield stack, login
        finally:
            stack.stop()
            execute(
                pg_admin_url,
                sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(login)).as_string(),
            )


def _limit(stack: Stack, login: str, limit: int) -> None:
    statement = sql.SQL("ALTER ROLE {} CONNECTION LIMIT {}").format(
        sql.Identifier(login), sql.Literal(limit)
    )
    execute(stack.database_url, statement.as_string())


def test_a_refused_login_is_named_in_the_log_and_nothing_is_lost(
    limited: tuple[Stack, str],
) -> None:
    """Item 14: the writer login at CONNECTION LIMIT 0: the worker's log says
    `too many connections for role "<login>"` and what to do; the file waits (no fate, still in the
    spool); with the limit lifted it is stored, attempts 1."""
    stack, login = limited
    _limit(stack, login, 0)
    stack.start()
    stack.drop("waits.txt", article("waits for a connection"))
    wait_for(
        lambda: f'too many connections for role "{login}"' in stack.log("worker"),
        90,
        what="the refusal in the worker's log",
    )
    # Our own line too, with what to do about it (a pool's timeout carries no cause).
    wait_for(
        lambda: "PostgreSQL refuses new connections" in stack.log("worker"),
        60,
        what="the explanation in the worker's log",
    )
    assert not stack.finished()
    wait_for(lambda: stack.spool_files(), 40, what="the claim in the spool")
    _limit(stack, login, -1)
    (row,) = stack.wait_finished(1, timeout=60)
    assert (row["status"], row["attempts"]) == ("stored", 1)
    assert stack.processes["worker"].poll() is None
