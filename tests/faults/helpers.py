"""What the fault tests check after breaking something: one fate per file, nothing lost."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import redis

from tests.support import Stack, pending, query, spool_entry, wait_for

FINAL = {"stored", "duplicate", "rejected", "failed"}


def article(i: int, extra: str = "") -> str:
    """A small valid article, unique per `i` (so every file is its own document)."""
    return (
        f"date 2021-03-{1 + i % 28:02d} Article number {i} reports on fault number {i}.\n\n"
        f"Paragraph with the marker {i}-{extra} and enough words to pass validation.\n"
    )


def drop_many(stack: Stack, count: int, prefix: str = "f") -> list[str]:
    names = [f"{prefix}{i:04d}.txt" for i in range(count)]
    for i, name in enumerate(names):
        stack.drop(name, article(i, prefix))
    return names


def assert_exactly_once(stack: Stack, names: list[str], status: str = "stored") -> None:
    """Each name has exactly one ledger row with `status`, one document, a final file."""
    rows = stack.files()
    by_name = Counter(r["name"] for r in rows)
    assert sorted(by_name) == sorted(names), "lost or unexpected files"
    assert max(by_name.values()) == 1, f"files registered twice: {by_name.most_common(3)}"
    statuses = Counter(r["status"] for r in rows)
    assert statuses == {status: len(names)}, statuses
    if status == "stored":
        docs = query(
            stack.database_url,
            "SELECT count(*) AS n, count(DISTINCT file_id) AS files FROM documents",
        )[0]
        assert docs == {"n": len(names), "files": len(names)}, docs
    # Files move right after the commit that wrote their fate: give the move a moment.
    wait_for(lambda: not stack.spool_files(), 15, what="an empty spool")
    folder = stack.work / ("processed" if status == "stored" else status)
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.txt")) == sorted(names)


def queued_claims(client: redis.Redis, queue: str = "ingest") -> Counter[str]:
    """Claim ids in the broker's messages, queued or delivered but unacknowledged."""
    raw: list[bytes] = list(client.lrange(queue, 0, -1))
    raw += [json.dumps(json.loads(v)[0]).encode() for v in client.hvals("unacked")]
    found: Counter[str] = Counter()
    for item in raw:
        message = json.loads(item)
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        found.update(claim["claim_id"] for claim in args[0])
    return found


def spool_claims(stack: Stack) -> dict[str, Path]:
    """Name as dropped -> its path in the spool, for every claim without a final move."""
    spool = stack.work / "spool"
    return {c.name: spool_entry(spool, c) for c in pending(spool)}


def spool_claim_ids(stack: Stack) -> set[str]:
    return {c.claim_id for c in pending(stack.work / "spool")}


def kill_group(process: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    """The whole process tree (Celery's main process and its pool children)."""
    os.killpg(process.pid, sig)
    process.wait(timeout=30)


def start_worker_without_dac_override(stack: Stack) -> subprocess.Popen[bytes]:
    """`ingest worker` as root minus the capabilities that let root read any file,
    so a file with mode 000 is really unreadable to it (the suite runs as root)."""
    caps = "-dac_override,-dac_read_search"
    log = open(stack.logs / "worker.log", "ab")  # noqa: SIM115 - lives as long as the process
    process = subprocess.Popen(
        [
            *("setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}", "--"),
            *(sys.executable, "-m", "worker", "worker"),
        ],
        env=stack.env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    stack.processes["worker"] = process
    return process


def fates(stack: Stack) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in stack.files()}
