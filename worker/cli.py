"""`ingest`: up | migrate | watch | worker | status. Only this module configures logging."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from worker import metrics, ops_cli, runtime
from worker import settings as settings_module
from worker.errors import IngestError
from worker.logs import configure_logging, mark_ready
from worker.settings import Settings

log = logging.getLogger("worker.cli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ingest", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser(
        "up", help="run the whole stack on embedded PostgreSQL and Valkey (or configured URLs)"
    )
    up.add_argument(
        "--verbose", action="store_true", help="show every log line, not only warnings and errors"
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
    ops_cli.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # What we create (outcome files, sidecars, logs, the broker's files) is not for
    # other local users to read: folders we make are 0700 on top of this.
    os.umask(0o027)
    try:
        settings = settings_module.load()
        if args.command == "up":
            from worker.up import run_up

            logs = settings.state_dir / "logs"
            settings = settings.model_copy(
                update={
                    "log_file": logs / "ingest.log",
                    "log_console_level": settings.log_level if args.verbose else "WARNING",
                }
            )
            configure_logging(settings)
            return run_up(settings, stop_on_signals(), verbose=args.verbose)
        settings = runtime.resolve(settings)
        configure_logging(settings)
        if args.command == "migrate":
            return _migrate(settings)
        if args.command == "watch":
            return run_watch(settings)
        if args.command == "worker":
            return _worker(settings, args.celery_args)
        if args.command == "status":
            return _status(settings, as_json=args.json, watch=args.watch)
        if args.command == "reindex":
            from worker.neardup import reindex_command

            return reindex_command(settings)
        if args.command in ops_cli.COMMANDS:
            return ops_cli.dispatch(args, settings, stop_on_signals())
    except IngestError as exc:
        print(f"ingest: {exc}", file=sys.stderr)
        return 2
    return 1


def _migrate(settings: Settings) -> int:
    from worker import migrate

    applied = migrate.apply(settings.require_database_url())
    print("applied: " + ", ".join(applied) if applied else "schema is up to date")
    from worker.roles import ensure_configured_logins

    for login in ensure_configured_logins(settings.require_database_url(), settings):
        print(f"login: {login}")
    return 0


def stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


def run_watch(settings: Settings, stop: threading.Event | None = None) -> int:
    from worker.publish import celery_publisher
    from worker.watch import Watcher

    settings.require_broker_url()
    stop = stop or stop_on_signals()
    watcher = Watcher(settings, celery_publisher(settings))
    metrics.serve_watcher(settings)
    log.info("watching %s (%s mode)", settings.inbox_dir, settings.watch_mode)
    threading.Thread(target=_report_ready, args=(watcher.ready,), daemon=True).start()
    watcher.run(stop)
    return 0


def _report_ready(ready: threading.Event) -> None:
    """Tell a supervising `ingest up` that the watcher took its first look at the inbox."""
    ready.wait()
    mark_ready()


def worker_command(settings: Settings, extra: Sequence[str] = ()) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "worker.celery_app:app",
        "worker",
        "-Q",
        "ingest",
        "--loglevel",
        settings.log_level.upper(),
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    if not any(a.startswith(("-c", "--concurrency")) for a in extra):
        command += ["--concurrency", str(settings.concurrency)]
    return command + list(extra)


def _worker(settings: Settings, extra: Sequence[str]) -> int:
    settings.require_broker_url()
    settings.require_database_url()
    command = worker_command(settings, extra)
    env = metrics.worker_environment(settings, dict(os.environ))
    os.execve(command[0], command, env)  # the worker replaces us: signals go straight to Celery
    return 0  # pragma: no cover


def _status(settings: Settings, *, as_json: bool, watch: float | None) -> int:
    from worker.status import run_status

    settings.require_database_url()
    stop = stop_on_signals() if watch is not None else threading.Event()
    return run_status(settings, as_json=as_json, watch=watch, stop=stop)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
