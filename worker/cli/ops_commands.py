"""Subcommands for consumers and operators: tail, retry, reprocess, rejected, prune.

Kept out of main.py so that module stays a short list of commands; main.py
calls `add_commands` and `dispatch`. Names are printed escaped (`printable`).
"""

from __future__ import annotations

import argparse
import json
import threading
from dataclasses import asdict
from typing import Any

from worker.logs import printable
from worker.settings import Settings

# The commands' modules are imported when a command runs (see worker.cli.main).

COMMANDS = frozenset({"tail", "retry", "reprocess", "rejected", "prune"})


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

    retry = commands.add_parser(
        "retry", help="run files that ended `failed` again (back to the spool, requeued)"
    )
    retry.add_argument("files", nargs="*", metavar="ID_OR_NAME", help="default: every one")
    retry.add_argument("--json", action="store_true")

    reprocess = commands.add_parser(
        "reprocess",
        help="re-parse stored files and refresh their documents' metadata (idempotent)",
    )
    reprocess.add_argument("files", nargs="*", metavar="ID_OR_NAME", help="default: every one")
    reprocess.add_argument("--dry-run", action="store_true", help="report, write nothing")
    reprocess.add_argument("--json", action="store_true")

    rejected = commands.add_parser(
        "rejected", help="list rejected files with reasons; --release puts one back"
    )
    rejected.add_argument("files", nargs="*", metavar="ID_OR_NAME", help="default: every one")
    rejected.add_argument(
        "--release",
        metavar="ID_OR_NAME",
        help="move this corrected rejected file back into the inbox",
    )
    rejected.add_argument("--json", action="store_true")

    prune = commands.add_parser(
        "prune", help="delete outcome files older than their retention (keep_*_days)"
    )
    prune.add_argument("--dry-run", action="store_true", help="list, delete nothing")
    prune.add_argument("--json", action="store_true")


def dispatch(args: argparse.Namespace, settings: Settings, stop: threading.Event) -> int:
    if args.command == "prune":
        return _prune(settings, args)
    url = settings.require_database_url()
    if args.command == "tail":
        from worker.ops.tail import run_tail

        return run_tail(url, args.since, stop, count=args.count, poll_s=args.poll)
    if args.command == "retry":
        return _retry(settings, args)
    if args.command == "reprocess":
        return _reprocess(settings, args)
    if args.command == "rejected":
        return _rejected(settings, args)
    raise AssertionError(args.command)


def _retry(settings: Settings, args: argparse.Namespace) -> int:
    from worker.broker.publish import celery_publisher
    from worker.ops.retry import retry_failed

    settings.require_broker_url()
    results = retry_failed(settings, celery_publisher(settings), args.files)
    if args.json:
        print(json.dumps([asdict(r) for r in results]))
    else:
        for r in results:
            print(f"#{r.file_id} {printable(r.name)}: {r.outcome}")
        print(f"{sum(r.outcome == 'requeued' for r in results)} of {len(results)} requeued")
    return 0


def _reprocess(settings: Settings, args: argparse.Namespace) -> int:
    from worker.ops.reprocess import reprocess

    report = reprocess(settings, args.files, dry_run=args.dry_run)
    if args.json:
        print(json.dumps({"counts": dict(report.counts), "notes": report.notes}, default=str))
    else:
        for note in report.notes:
            name, record = printable(note["name"]), note["record"]
            print(f"#{note['file_id']} {name} record {record}: {note['outcome']}")
        print(", ".join(f"{k} {v}" for k, v in sorted(report.counts.items())) or "nothing to do")
    return 0


def _rejected(settings: Settings, args: argparse.Namespace) -> int:
    from worker.ops.rejected import list_rejected, release

    if args.release:
        released = release(settings, args.release)
        if args.json:
            print(json.dumps([asdict(r) for r in released]))
        for r in released if not args.json else []:
            print(f"#{r.file_id} {printable(r.name)}: {r.outcome}")
        return 0 if any(r.outcome == "released" for r in released) else 1
    rows = list_rejected(settings, args.files)
    if args.json:
        print(json.dumps(rows))
        return 0
    for row in rows:
        print(f"#{row['file_id']} {printable(row['name'])}: {row['reason']}: {row['detail']}")
        for record in row["records"]:
            print(f"    record {record['record']}: {record['reason']}: {record['detail']}")
        print(f"    {printable(row['path']) if row['path'] else '(file no longer kept)'}")
    return 0


def _prune(settings: Settings, args: argparse.Namespace) -> int:
    from worker.ops.retention import prune

    pruned = prune(settings, dry_run=args.dry_run)
    if args.json:
        print(json.dumps([{**asdict(p), "path": str(p.path)} for p in pruned]))
        return 0
    verb = "would delete" if args.dry_run else "deleted"
    for p in pruned:
        print(f"{verb} {printable(p.path)} ({p.fate}, {p.age_days} days)")
    print(f"{verb} {len(pruned)} files, {sum(p.size for p in pruned)} bytes")
    return 0
