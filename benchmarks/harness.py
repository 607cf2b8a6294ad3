"""Servers and processes for benchmarks: embedded PostgreSQL + Valkey, real workers."""

from __future__ import annotations

import contextlib
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

import psutil
import psycopg

from benchmarks.corpus import describe
from benchmarks.workload import DropFile
from worker.db.databases import create_database
from worker.embedded import EmbeddedPostgres, EmbeddedValkey


@dataclass
class Servers:
    root: Path
    admin_url: str
    valkey: EmbeddedValkey
    postgres: EmbeddedPostgres

    def fresh_database(self) -> str:
        return create_database(self.admin_url, prefix="bench")

    def broker(self, db: int) -> str:
        return self.valkey.empty_database(db)


@contextlib.contextmanager
def servers() -> Iterator[Servers]:
    # Under the checkout (git-ignored): the file system an inbox would really live on.
    base = Path(__file__).resolve().parents[1] / ".ingest"
    base.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-", dir=base) as tmp:
        root = Path(tmp)
        # As root the embedded PostgreSQL runs as its own user, which must reach its
        # data: ours to open for passing through (0711), as the test fixtures do.
        for folder in (base, root):
            folder.chmod(0o711)
        postgres = EmbeddedPostgres(root)
        valkey = EmbeddedValkey(root)
        postgres.start()
        valkey.start()
        try:
            yield Servers(root, postgres.admin_url, valkey, postgres)
        finally:
            valkey.stop()
            postgres.stop()


def env_for(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGEST_")}
    env["INGEST_CONFIG"] = os.devnull
    env["INGEST_LOG_LEVEL"] = "WARNING"
    env.update(values)
    return env


@dataclass
class Proc:
    name: str
    process: subprocess.Popen[bytes]
    peak_rss: dict[int, int] = field(default_factory=dict)  # pid -> bytes
    samples: dict[int, list[int]] = field(default_factory=dict)


def start(name: str, args: list[str], env: dict[str, str], log: Path) -> Proc:
    handle = open(log, "ab")  # noqa: SIM115 - closed when the process ends
    process = subprocess.Popen(
        [sys.executable, *args],
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return Proc(name, process)


def stop(proc: Proc, timeout: float = 20) -> None:
    if proc.process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.process.wait(timeout=timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.process.pid, signal.SIGKILL)
    proc.process.wait()


class Sampler:
    """Calls `sample()` every `interval` seconds in a thread, inside a with-block."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def sample(self) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()


class RssSampler(Sampler):
    """Samples the resident memory of every process in the given trees."""

    def __init__(self, procs: list[Proc], interval: float = 0.5) -> None:
        super().__init__(interval)
        self.procs = procs

    def sample(self) -> None:
        for proc in self.procs:
            try:
                root = psutil.Process(proc.process.pid)
                tree = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
            for p in tree:
                with contextlib.suppress(psutil.NoSuchProcess):
                    rss = p.memory_info().rss
                    proc.peak_rss[p.pid] = max(proc.peak_rss.get(p.pid, 0), rss)
                    proc.samples.setdefault(p.pid, []).append(rss)


def cpu_per_file(before: dict[str, float], after: dict[str, float], files: int) -> dict[str, int]:
    """CPU µs per file, by process, between two readings of `cpu_seconds` and the like."""
    return {k: round((after[k] - before.get(k, 0.0)) / files * 1e6) for k in after}


def cpu_seconds(procs: list[Proc]) -> dict[str, float]:
    """CPU time (user + system) used so far by each process tree, by name."""
    used: dict[str, float] = {}
    for proc in procs:
        try:
            root = psutil.Process(proc.process.pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        total = 0.0
        for p in tree:
            with contextlib.suppress(psutil.NoSuchProcess):
                t = p.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
        used[proc.name] = total
    return used


def server_cpu_seconds(servers: Servers) -> dict[str, float]:
    """CPU time of this benchmark's own PostgreSQL and Valkey, whole process trees.

    Includes exited children the postmaster reaped (closed connections).
    """
    used = {}
    for name, pid in (("postgres", servers.postgres.pid), ("valkey", servers.valkey.pid)):
        total = 0.0
        if pid is not None:
            root = psutil.Process(pid)
            for p in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.NoSuchProcess):
                    t = p.cpu_times()
                    total += t.user + t.system + t.children_user + t.children_system
        used[name] = total
    return used


def wait_until(check: object, timeout: float, interval: float = 0.2) -> float:
    """Poll `check()` until truthy; return the monotonic time it became true."""
    deadline = time.monotonic() + timeout
    while True:
        if check():  # type: ignore[operator]
            return time.monotonic()
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark step did not finish in time")
        time.sleep(interval)


def count(url: str, sql: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(sql).fetchone()  # type: ignore[arg-type]
        return int(row[0]) if row else 0


def about(corpus: Path | None, articles: int) -> dict[str, str]:
    """Date, machine and input: the head of every benchmark's results."""
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}",
        "corpus": describe(corpus, articles),
    }


def stage(root: Path, files: list[DropFile]) -> tuple[Path, Path]:
    """The files written to root/stage, beside root/inbox (same file system), and the
    inbox's folders made, as in a long-running inbox: a burst is then a rename each."""
    inbox, staged = root / "inbox", root / "stage"
    inbox.mkdir(parents=True, exist_ok=True)
    for f in files:
        path = staged / f.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f.data)
        (inbox / f.name).parent.mkdir(parents=True, exist_ok=True)
    return inbox, staged


def ingest_env(
    root: Path, database_url: str, broker_url: str, inbox: str, concurrency: int, **extra: str
) -> dict[str, str]:
    """The environment of `ingest worker` and `ingest watch` for one run under `root`."""
    return env_for(
        INGEST_DATABASE_URL=database_url,
        INGEST_BROKER_URL=broker_url,
        INGEST_INBOX=inbox,
        INGEST_DATA_DIR=str(root / "data"),
        INGEST_CONCURRENCY=str(concurrency),
        **extra,
    )


def start_worker(env: dict[str, str], root: Path) -> Proc:
    return start("worker", ["-m", "worker", "worker"], env, root / "worker.log")


def start_watcher(env: dict[str, str], root: Path) -> Proc:
    return start("watcher", ["-m", "worker", "watch"], env, root / "watcher.log")


def start_stack(env: dict[str, str], root: Path, settle_s: float = 3.0) -> tuple[Proc, Proc]:
    """A worker and a watcher, up and idle."""
    worker, watcher = start_worker(env, root), start_watcher(env, root)
    time.sleep(settle_s)
    return worker, watcher
