"""Helpers for tests that run the real stack: processes, waiting, ledger queries."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg.rows import dict_row

from worker.files.claims import Claim
from worker.files.safe import open_root
from worker.files.spool import claim_now, pending_claims, prepare_folders, spool_parts
from worker.settings import Settings

T = TypeVar("T")


def wait_for(
    check: Callable[[], T], timeout: float = 20.0, interval: float = 0.1, what: str = ""
) -> T:
    """Poll until `check()` is truthy; fail with the last value after `timeout`."""
    deadline = time.monotonic() + timeout
    value = check()
    while not value:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}: {value!r}")
        time.sleep(interval)
        value = check()
    return value


def query(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]


@contextlib.contextmanager
def server_dir(prefix: str) -> Iterator[Path]:
    """A folder for an embedded server's data, removed afterwards.

    Not under pytest's basetemp: that is 0700, and as root the embedded
    PostgreSQL runs as its own user, which must be able to reach its data.
    This folder is ours; others may pass through it (0711) but not list it.
    """
    root = Path(tempfile.mkdtemp(prefix=f"ingest-test-{prefix}-"))
    root.chmod(0o711)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def stop_group(process: subprocess.Popen[bytes], sig: int, timeout: float) -> int:
    """Signal a process started in a session of its own, SIGKILL it after `timeout`, and
    leave no child of its group behind (a Celery pool); its exit code."""
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    return process.returncode


def ingest_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGEST_")}
    env["INGEST_CONFIG"] = os.devnull
    env.update(values)
    return env


class Stack:
    """A real watcher and Celery worker over a real broker and database."""

    def __init__(self, root: Path, database_url: str, broker_url: str, **settings: str) -> None:
        self.root = root
        self.inbox = root / "inbox"
        self.inbox.mkdir(parents=True, exist_ok=True)
        self.work = self.inbox / ".ingest"
        self.database_url = database_url
        self.broker_url = broker_url
        self.env = ingest_env(
            INGEST_DATABASE_URL=database_url,
            INGEST_BROKER_URL=broker_url,
            INGEST_INBOX=str(self.inbox),
            INGEST_DATA_DIR=str(root / "data"),
            INGEST_CONCURRENCY="2",
            INGEST_LOG_LEVEL="INFO",
            **settings,
        )
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.logs = root / "logs"
        self.logs.mkdir(exist_ok=True)

    def start(self, *, worker: bool = True, watcher: bool = True) -> Stack:
        if worker:
            self.start_process("worker", "worker")
        if watcher:
            self.start_process("watcher", "watch")
        return self

    def start_process(self, key: str, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"{key}.log", "ab")  # noqa: SIM115 - lives as long as the process
        process = subprocess.Popen(
            [sys.executable, "-m", "worker", *args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes[key] = process
        return process

    def command(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """An `ingest` command against this stack, its output kept (not checked)."""
        return subprocess.run(
            [sys.executable, "-m", "worker", *args],
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def stop_process(self, key: str, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        return stop_group(self.processes.pop(key), sig, timeout)

    def stop(self) -> None:
        for key in list(self.processes):
            self.stop_process(key)

    def log(self, key: str) -> str:
        path = self.logs / f"{key}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- dropping files and reading results ------------------------------

    def drop(self, name: str, data: bytes | str) -> Path:
        """Write a file the way a careful producer does: a hidden temp name, then rename."""
        target = self.inbox / name
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_bytes(data.encode() if isinstance(data, str) else data)
        os.rename(tmp, target)
        return target

    def files(self) -> list[dict[str, Any]]:
        return query(self.database_url, "SELECT * FROM ingest_files ORDER BY id")

    def documents(self) -> list[dict[str, Any]]:
        return query(self.database_url, "SELECT * FROM documents ORDER BY id")

    def finished(self) -> list[dict[str, Any]]:
        return [f for f in self.files() if f["status"] != "processing"]

    def wait_finished(self, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        try:
            return wait_for(
                lambda: rows if len(rows := self.finished()) >= count else None,
                timeout,
                what=f"{count} finished files",
            )
        except AssertionError:
            raise AssertionError(
                f"{len(self.finished())} of {count} files finished\n"
                f"--- worker log ---\n{self.log('worker')[-4000:]}\n"
                f"--- watcher log ---\n{self.log('watcher')[-4000:]}"
            ) from None

    def spool_files(self) -> list[Path]:
        spool = self.work / "spool"
        return [p for p in spool.rglob("*") if p.is_file()] if spool.exists() else []


# -- claims without a watcher (pipeline tests) ---------------------------------


def drop_and_claim(settings: Settings, name: str, data: bytes | str) -> Claim:
    """Write a file into the inbox and claim it as the watcher would."""
    prepare_folders(settings)
    path = settings.inbox_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return claim_now(settings, name)


def spool_entry(spool: Path, item: Claim) -> Path:
    """Where a claim sits in the spool folder."""
    return spool.joinpath(*spool_parts(item))


def pending(spool: Path) -> list[Claim]:
    """Every claim in the spool folder, oldest first."""
    if not spool.is_dir():
        return []
    fd = open_root(spool)
    try:
        return pending_claims(fd)
    finally:
        os.close(fd)


def sidecar_of(work: Path, moved: Path | bytes) -> Path:
    """The `.error.json` of a file moved to `moved` under the files folder `work`."""
    if isinstance(moved, bytes):
        relative = os.fsdecode(moved)[len(str(work)) + 1 :]
    else:
        relative = moved.relative_to(work).as_posix()
    return work / "errors" / f"{relative}.error.json"
