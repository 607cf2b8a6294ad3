"""`ingest`: the whole stack (`up`), its processes (`watch`, `worker`, `migrate`) and the
operator's commands (`status`, `tail`, `retry`, `reprocess`, `rejected`, `prune`, `reindex`).

Only the CLI configures logging. Every command but `up` finds a running
`ingest up` in the data dir when no URL is configured.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from worker import metrics, runtime
from worker import settings as settings_module
from worker.constants import QUEUE
from worker.errors import IngestError
from worker.logs import configure_logging
from worker.settings import Settings

# Each command imports what it runs when it runs: `ingest status` needs no
# parser or Celery, and a broken optional piece breaks only the commands using it.


def build_parser() -> argparse.ArgumentParser:
    from worker.cli import ops_commands

    parser = argparse.ArgumentParser(prog="ingest", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser(
        "up", help="run the whole stack on embedded PostgreSQL and Valkey (or configured URLs)"
    )
    up.add_argument(
        "--verbose", action="store_true", help="show every log line, not only warnings and errors"
    )
    up.add_argument(
        "--once",
        action="store_true",
        help="take what the inbox holds now, exit when each file has its fate "
        "(exit code 0: none failed, 1: some failed or had no fate)",
    )
    commands.add_parser("migrate", help="apply pending database migrations (idempotent)")
    commands.add_parser("watch", help="run the inbox watcher")
    worker = commands.add_parser(
        "worker", help="run a Celery worker; extra arguments go to `celery worker`"
    )
    worker.add_argument("celery_args", nargs=argparse.REMAINDER)
    status = commands.add_parser(
        "status", help="files by fate, broker queue, backlog, rate, latest rejections"
    )
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.add_argument(
        "--watch",
        type=float,
        nargs="?",
        const=2.0,
        metavar="SECONDS",
        help="refresh every SECONDS (default 2) until interrupted",
    )
    commands.add_parser(
        "reindex",
        help="rebuild the near-duplicate index (signatures, bands, links) with current parameters",
    )
    ops_commands.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if args.command == "worker":
        args.celery_args = [*unknown, *args.celery_args]  # `ingest worker --concurrency 4`
    elif unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    # What we create (outcome files, sidecars, logs, the broker's files) is not for
    # other local users to read: folders we make are 0700 on top of this.
    os.umask(0o027)
    try:
        settings = settings_module.load()
        if args.command == "up":
            settings = settings.model_copy(
                update={
                    "log_file": settings.state_dir / "logs" / "ingest.log",
                    "log_console_level": settings.log_level if args.verbose else "WARNING",
                }
            )
            configure_logging(settings)
            from worker.cli.up import run_up

            return run_up(settings, stop_on_signals(), verbose=args.verbose, once=args.once)
        settings = runtime.resolve(settings)
        configure_logging(settings)
        return _dispatch(args, settings)
    except IngestError as exc:
        print(f"ingest: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # `ingest status | head`: the reader left. Python would print a traceback
        # at exit, flushing into the closed pipe; send what is left nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "migrate":
        from worker.db import migrate
        from worker.db.roles import ensure_configured_logins

        url = settings.require_database_url()
        applied = migrate.apply(url)
        print("applied: " + ", ".join(applied) if applied else "schema is up to date")
        for login in ensure_configured_logins(url, settings):
            print(f"login: {login}")
        return 0
    if args.command == "watch":
        from worker.watcher.run import run_watch

        return run_watch(settings, stop_on_signals())
    if args.command == "worker":
        return _worker(settings, args.celery_args)
    if args.command == "status":
        from worker.ops.status import run_status

        settings.require_database_url()
        stop = stop_on_signals() if args.watch is not None else threading.Event()
        return run_status(settings, as_json=args.json, watch=args.watch, stop=stop)
    if args.command == "reindex":
        from worker.ops.reindex import run_reindex

        return run_reindex(settings)
    from worker.cli import ops_commands

    return ops_commands.dispatch(args, settings, stop_on_signals())


def stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


def worker_command(settings: Settings, extra: Sequence[str] = ()) -> list[str]:
    command = [
        *(sys.executable, "-m", "celery", "-A", "worker.pipeline.tasks:app", "worker"),
        *("-Q", QUEUE, "--loglevel", settings.log_level.upper()),
        *("--without-gossip", "--without-mingle", "--without-heartbeat"),
    ]
    if not any(a.startswith(("-c", "--concurrency")) for a in extra):
        command += ["--concurrency", str(settings.concurrency)]
    return command + list(extra)


def _worker(settings: Settings, extra: Sequence[str]) -> int:
    # Passed on explicitly: they may have come from a running `ingest up`'s runtime file.
    env = {
        **os.environ,
        "INGEST_BROKER_URL": settings.require_broker_url(),
        "INGEST_DATABASE_URL": settings.require_database_url(),
        "INGEST_INBOX": settings.inbox_location,
        "INGEST_FILES_DIR": settings.files_location,
    }
    command = worker_command(settings, extra)
    env = metrics.worker_environment(settings, env)
    os.execve(command[0], command, env)  # the worker replaces us: signals go straight to Celery
    return 0  # pragma: no cover
