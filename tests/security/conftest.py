"""Servers for the security tests: one database and one broker database per stack.

Stacks live as long as a module (starting a Celery worker costs seconds), so
each stack gets a database cloned from the session's migrated template and a
Valkey database of its own: two stacks alive at once never share a queue.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest

from worker.db.databases import create_database, drop_database
from worker.embedded import EmbeddedValkey

# Database 0 belongs to the suite's function-scoped `broker_url`.
_BROKER_DBS = itertools.cycle(range(2, 16))

NewServers = Callable[[], tuple[str, str]]


@pytest.fixture(scope="module")
def new_servers(
    pg_admin_url: str, migrated_template: str, valkey: EmbeddedValkey
) -> Iterator[NewServers]:
    """Make (database URL, broker URL) pairs, each fresh; dropped after the module."""
    made: list[str] = []

    def new() -> tuple[str, str]:
        url = create_database(pg_admin_url, prefix="sec", template=migrated_template)
        made.append(url)
        return url, valkey.empty_database(next(_BROKER_DBS))

    yield new
    for url in made:
        drop_database(pg_admin_url, url)
