"""How other commands find a running `ingest up`: a lock and a small runtime file.

`ingest up` holds an exclusive `flock` on `<data dir>/up.lock` for as long as
it runs (the kernel drops it when the process dies, however it dies) and
writes `<data dir>/runtime.json` (mode 0600: the broker URL carries its
password) with the URLs of its servers. `ingest status`, `tail`, `retry` and
the rest read that file when no URL is configured; a file whose lock is free
was left by an `ingest up` that died, and is ignored. A second `ingest up` on
the same data dir finds the lock taken and stops.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

from worker.errors import ConfigurationError
from worker.settings import Settings

LOCK_NAME = "up.lock"
RUNTIME_NAME = "runtime.json"


@dataclass(frozen=True, slots=True)
class Runtime:
    pid: int
    database_url: str
    broker_url: str
    inbox: str
    files_dir: str
    log_file: str
    started_at: str
    s3_endpoint_url: str | None = None  # an S3 inbox's store (credentials stay in the env)


class AlreadyRunning(ConfigurationError):
    def __init__(self, data_dir: Path, pid: int | None) -> None:
        who = f" (pid {pid})" if pid else ""
        super().__init__(
            f"ingest up is already running on {data_dir}{who}; stop it first, "
            "or use another data_dir"
        )
        self.pid = pid


@contextlib.contextmanager
def hold(data_dir: Path) -> Iterator[None]:
    """Hold the data dir for one `ingest up`; raise AlreadyRunning if another holds it."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    handle = _open_lock(data_dir)
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        found = _read(data_dir)
        raise AlreadyRunning(data_dir, found.pid if found else None) from None
    try:
        yield
    finally:
        (data_dir / RUNTIME_NAME).unlink(missing_ok=True)
        handle.close()  # releases the lock


def write(data_dir: Path, runtime: Runtime) -> None:
    path = data_dir / RUNTIME_NAME
    partial = path.with_name(f".{RUNTIME_NAME}.{os.getpid()}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(asdict(runtime), out, indent=2)
    os.replace(partial, path)


def running(data_dir: Path) -> Runtime | None:
    """The runtime of a live `ingest up` on this data dir, or None."""
    found = _read(data_dir)
    if found is None or not _locked(data_dir):
        return None
    return found


def stale(data_dir: Path) -> Runtime | None:
    """A runtime file left behind by an `ingest up` that is no longer running."""
    found = _read(data_dir)
    return found if found is not None and not _locked(data_dir) else None


def resolve(settings: Settings) -> Settings:
    """`settings` with the servers of a running `ingest up` where none is configured.

    Its inbox and files folder too, unless the settings name their own.
    """
    if settings.database_url and settings.broker_url:
        return settings
    found = running(settings.state_dir)
    if found is None:
        return settings
    update: dict[str, object] = {
        "database_url": settings.database_url or found.database_url,
        "broker_url": settings.broker_url or found.broker_url,
    }
    if "inbox" not in settings.model_fields_set:
        update["inbox"] = found.inbox
    if "files_dir" not in settings.model_fields_set:
        update["files_dir"] = found.files_dir
    if "s3_endpoint_url" not in settings.model_fields_set and found.s3_endpoint_url:
        update["s3_endpoint_url"] = found.s3_endpoint_url
    return settings.model_copy(update=update)


def _open_lock(data_dir: Path) -> IO[bytes]:
    fd = os.open(data_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    return os.fdopen(fd, "r+b")


def _locked(data_dir: Path) -> bool:
    if not (data_dir / LOCK_NAME).exists():
        return False
    try:
        handle = _open_lock(data_dir)
    except OSError:
        return False
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        return False


def _read(data_dir: Path) -> Runtime | None:
    try:
        data = json.loads((data_dir / RUNTIME_NAME).read_text("utf-8"))
        return Runtime(**data)
    except (OSError, ValueError, TypeError):
        return None
