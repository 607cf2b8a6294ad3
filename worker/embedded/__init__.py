"""Embedded PostgreSQL and Valkey from pip-installed binaries: `ingest up`, tests, benchmarks."""

from worker.embedded.postgres import EmbeddedPostgres
from worker.embedded.valkey import EmbeddedValkey

__all__ = ["EmbeddedPostgres", "EmbeddedValkey"]
