"""Embedded PostgreSQL and Valkey from pip-installed binaries: `ingest up`, tests, benchmarks."""

from worker.embedded.databases import create_database, drop_database
from worker.embedded.postgres import EmbeddedPostgres
from worker.embedded.valkey import EmbeddedValkey

__all__ = ["EmbeddedPostgres", "EmbeddedValkey", "create_database", "drop_database"]
