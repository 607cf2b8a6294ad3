"""`ingest up`: the whole stack in one command, on the embedded default.

Starts embedded PostgreSQL and Valkey unless URLs are configured, applies
migrations, runs a Celery worker as a child process and the watcher in this
process, and shows one live progress line. SIGINT or SIGTERM stops all of it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import psycopg

from worker import metrics, migrate
from worker.cli import run_watch, stop_on_signals, worker_command
from worker.embedded import EmbeddedPostgres, EmbeddedValkey
from worker.errors import IngestError
from worker.settings import Settings
from worker.status import fates_since, spool_backlog

log = logging.getLogger(__name__)


def run_up(settings: Settings) -> int:
    stop = stop_on_signals()
    with contextlib.ExitStack() as stack:
        database_url, broker_url = _servers(settings, stack)
        settings = settings.model_copy(
            update={"database_url": database_url, "broker_url": broker_url}
        )
        applied = migrate.apply(database_url)
        if applied:
            log.info("applied migrations: %s", ", ".join(applied))
        stack.enter_context(_worker_process(settings))
        _wait_for_worker(settings, stop)
        settings.inbox_dir.mkdir(parents=True, exist_ok=True)
        settings.spool_dir.mkdir(parents=True, exist_ok=True)
        print(f"PostgreSQL: {database_url}", flush=True)
        print(f"  psql '{database_url}'", flush=True)
        print(f"Broker:     {broker_url}", flush=True)
        print(f"Inbox:      {settings.inbox_dir}  (Ctrl-C to stop)", flush=True)
        watcher_thread = threading.Thread(
            target=run_watch, args=(settings, stop), name="watcher", daemon=True
        )
        watcher_thread.start()
        _progress(settings, database_url, stop)
        watcher_thread.join(timeout=5)
    print("stopped", flush=True)
    return 0


def _servers(settings: Settings, stack: contextlib.ExitStack) -> tuple[str, str]:
    data_dir = settings.state_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    database_url = settings.database_url
    if not database_url:
        postgres = EmbeddedPostgres(data_dir)
        database_url = postgres.start()
        stack.callback(postgres.stop)
    broker_url = settings.broker_url
    if not broker_url:
        valkey = EmbeddedValkey(data_dir)
        broker_url = valkey.start()
        stack.callback(valkey.stop)
    return database_url, broker_url


@contextlib.contextmanager
def _worker_process(settings: Settings) -> Iterator[subprocess.Popen[bytes]]:
    env = metrics.worker_environment(settings, dict(os.environ))
    env["INGEST_DATABASE_URL"] = settings.database_url or ""
    env["INGEST_BROKER_URL"] = settings.broker_url or ""
    env["INGEST_INBOX"] = str(settings.inbox_dir)
    env["INGEST_FILES_DIR"] = str(settings.work_dir)
    # Own session: Ctrl-C in the terminal reaches only us; we stop the worker in order.
    # Celery's banner and logs go to stderr: stdout carries the DSN and the progress line.
    process = subprocess.Popen(
        worker_command(settings), env=env, start_new_session=True, stdout=sys.stderr
    )
    try:
        yield process
    finally:
        _stop_process_group(process, grace=7.0)


def _wait_for_worker(settings: Settings, stop: threading.Event, timeout: float = 60) -> None:
    """Announce the stack only once a worker answers, so dropped files are handled at once."""
    from worker.celery_app import create

    app = create(settings)
    deadline = time.monotonic() + timeout
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            if app.control.ping(timeout=0.5):
                return
        except Exception:
            time.sleep(0.2)
    log.warning("no worker answered within %.0fs; files will wait in the queue", timeout)


def _stop_process_group(process: subprocess.Popen[bytes], grace: float) -> None:
    if process.poll() is not None:
        return
    # Celery's main process only: it finishes running batches and stops its pool.
    # Signalling the whole group would kill pool children mid-batch.
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        log.warning("worker did not stop in %.0fs; killing it (its batch is redelivered)", grace)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # any pool child left behind
    process.wait()


def _progress(settings: Settings, database_url: str, stop: threading.Event) -> None:
    """One line: files finished since this start, and files in flight (in the spool)."""
    tty = sys.stdout.isatty()
    conn: psycopg.Connection[Any] | None = None
    since: datetime | None = None
    last = ""
    last_print = 0.0
    while not stop.wait(0.5):
        try:
            if conn is None or conn.closed:
                conn = psycopg.connect(database_url, autocommit=True)
            if since is None:
                row = conn.execute("SELECT clock_timestamp()").fetchone()
                since = row[0] if row else None
            if since is None:
                continue
            done = fates_since(conn, since)
        except (psycopg.Error, IngestError):
            conn = None  # the line must never stop the stack; reconnect next time
            continue
        in_flight = _spool_only(settings)
        line = (
            f"received {sum(done.values()) + in_flight} | stored {done['stored']}"
            f" | duplicate {done['duplicate']} | rejected {done['rejected']}"
            f" | failed {done['failed']} | in flight {in_flight}"
        )
        if tty:
            print("\r" + line.ljust(len(last)), end="", flush=True)
        elif line != last or time.monotonic() - last_print > 30:
            print(line, flush=True)
            last_print = time.monotonic()
        last = line
    if conn is not None:
        conn.close()
    if tty:
        print()


def _spool_only(settings: Settings) -> int:
    """Claimed files without a final move yet."""
    try:
        return spool_backlog(settings.spool_dir)
    except OSError:
        return 0
