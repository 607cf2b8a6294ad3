"""Subcommands for consumers and operators: tail, retry, reprocess, rejected, prune.

Kept out of cli.py so that module stays a short list of commands; cli.py calls
`add_commands` and `dispatch`.
"""

from __future__ import annotations

import argparse
import threading
from typing import Any

from worker.errors import ConfigurationError
from worker.settings import Settings

COMMANDS = frozenset({"tail"})


def add_commands(commands: Any) -> None:
    tail = commands.add_parser(
        "tail", help="follow the change feed: new documents as JSON lines (an example consumer)"
    )
    tail.add_argument(
        "--since",
        metavar="CURSOR",
        help="resume after this TXID:SEQ cursor (as printed); `start` for everything; "
        "default: from now",
    )
    tail.add_argument("--count", type=int, help="exit after this many entries")
    tail.add_argument(
        "--poll", type=float, default=1.0, metavar="SECONDS", help="poll fallback interval"
    )


def dispatch(args: argparse.Namespace, settings: Settings, stop: threading.Event) -> int:
    url = _database_url(settings)
    if args.command == "tail":
        from worker.tail import run_tail

        return run_tail(url, args.since, stop, count=args.count, poll_s=args.poll)
    raise AssertionError(args.command)


def _database_url(settings: Settings) -> str:
    if not settings.database_url:
        raise ConfigurationError("database_url is not set (INGEST_DATABASE_URL)")
    return settings.database_url
