"""The database layer: connections, named queries, migrations, roles, the change feed."""

from worker.db.pool import TRANSIENT, close_pools, connect, forget_pools, pool, wrap_errors
from worker.db.queries import query

__all__ = ["TRANSIENT", "close_pools", "connect", "forget_pools", "pool", "query", "wrap_errors"]
