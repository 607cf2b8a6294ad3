"""`ingest up`: the whole stack in one command, on the embedded default.

Holds the data dir (one `ingest up` per data dir), starts embedded PostgreSQL
and Valkey unless URLs are configured, applies migrations, and runs the Celery
worker and the watcher as supervised children. The terminal shows a header and
one live line; the full log goes to `<data dir>/logs/ingest.log`. SIGINT or
SIGTERM stops everything, children first. `ingest up --once` stops by itself
once what the inbox held at the start has its fates (worker.cli.once).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

from worker import metrics, runtime
from worker.cli.console import Console
from worker.cli.once import Drain
from worker.cli.progress import Progress
from worker.cli.supervise import Child, Relay, Supervisor
from worker.db import migrate
from worker.embedded import EmbeddedPostgres, EmbeddedValkey
from worker.logs import mask_password
from worker.settings import Settings
from worker.sources import prepare

TICK_S = 0.5


def run_up(
    settings: Settings, stop: threading.Event, *, verbose: bool = False, once: bool = False
) -> int:
    """Run until stopped; with `once`, until what the inbox holds now has its fates
    (worker.cli.once), then print a summary: exit code 1 if some file failed."""
    console = Console()
    data_dir = settings.state_dir
    with runtime.hold(data_dir), contextlib.ExitStack() as stack:
        logs = data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True, mode=0o700)
        log_file = logs / "ingest.log"
        database_url, broker_url, embedded = _servers(settings, stack)
        settings = settings.model_copy(
            update={
                "database_url": database_url,
                "broker_url": broker_url,
                "log_file": log_file,
                "log_console_level": settings.log_level if verbose else "WARNING",
            }
        )
        migrate.apply(database_url)
        prepare(settings)
        progress = Progress(settings, database_url)
        stack.callback(progress.close)
        progress.start()
        drain = None
        if once:  # the start set is looked at before the watcher takes anything
            drain = Drain(settings, database_url)
            stack.callback(drain.close)
        supervisor = Supervisor(_children(settings, logs, console.relay), console.say)
        stack.callback(supervisor.stop)
        supervisor.start(stop)
        if stop.is_set():
            return 0 if drain is None else 1
        runtime.write(
            data_dir,
            runtime.Runtime(
                pid=os.getpid(),
                database_url=database_url,
                broker_url=broker_url,
                inbox=settings.inbox_location,
                files_dir=settings.files_location,
                log_file=str(log_file),
                started_at=datetime.now(UTC).isoformat(),
                s3_endpoint_url=settings.s3_endpoint_url,
            ),
        )
        console.header(_header(settings, log_file, embedded=embedded))
        if drain is not None:
            console.header(drain.header())
        stack.callback(console.close)
        while not stop.wait(TICK_S):
            supervisor.tick()
            line = progress.line()
            if line is not None:
                console.live(line)
            if drain is not None and drain.finished():
                break
        if drain is not None:
            console.close()
            supervisor.stop()  # fates that land meanwhile are counted too
            return drain.summary(console, interrupted=stop.is_set())
    console.header("stopped")
    return 0


def _servers(settings: Settings, stack: contextlib.ExitStack) -> tuple[str, str, bool]:
    """The database and broker URLs, and whether the database is our embedded one."""
    database_url = settings.database_url
    embedded = not database_url
    if not database_url:
        postgres = EmbeddedPostgres(settings.state_dir)
        database_url = postgres.start()
        stack.callback(postgres.stop)
    broker_url = settings.broker_url
    if not broker_url:
        valkey = EmbeddedValkey(settings.state_dir)
        broker_url = valkey.start()
        stack.callback(valkey.stop)
    return database_url, broker_url, embedded


def _children(settings: Settings, logs: Path, relay: Relay) -> list[Child]:
    # Every INGEST_* setting the user gave reaches the children, with these on top.
    env = dict(os.environ)
    env.update(
        {
            "INGEST_DATABASE_URL": settings.database_url or "",
            "INGEST_BROKER_URL": settings.broker_url or "",
            "INGEST_INBOX": settings.inbox_location,
            "INGEST_FILES_DIR": settings.files_location,
            "INGEST_DATA_DIR": str(settings.state_dir),
            "INGEST_LOG_FILE": str(settings.log_file),
            "INGEST_LOG_CONSOLE_LEVEL": settings.log_console_level or "WARNING",
        }
    )
    worker_env = metrics.worker_environment(settings, env)
    ingest = [sys.executable, "-m", "worker"]
    # The watcher first: at a stop it finishes publishing before the worker goes.
    return [
        Child(
            "watcher", [*ingest, "watch"], env, logs / "watcher.out", logs / ".watcher.ready", relay
        ),
        Child(
            "worker",
            [*ingest, "worker"],
            worker_env,
            logs / "worker.out",
            logs / ".worker.ready",
            relay,
        ),
    ]


def _header(settings: Settings, log_file: Path, *, embedded: bool) -> str:
    lines = [f"PostgreSQL: {mask_password(settings.database_url or '')}"]
    if embedded:
        lines.append(f"  psql '{settings.database_url}'")
    lines += [
        f"Broker:     {mask_password(settings.broker_url or '')}",
        f"Inbox:      {settings.inbox_location}  (Ctrl-C to stop)",
        f"Log:        {log_file}",
    ]
    return "\n".join(lines)
