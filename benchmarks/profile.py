"""Where the time goes: py-spy on every process of the stack during a burst.

    python -m benchmarks.profile --files 20000

Drops a burst like `benchmarks.throughput`, samples the watcher and every
Celery pool process with py-spy (a wheel from PyPI, in the test extra) and
prints, per process, the share of samples spent inside each of our functions
(inclusive) and the top self-time frames. The database's share is in the
throughput benchmark's CPU-per-file line.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil

from benchmarks import harness
from benchmarks.corpus import add_corpus_option, load
from benchmarks.workload import build


def _collapse(raw: Path) -> collections.Counter[tuple[str, ...]]:
    stacks: collections.Counter[tuple[str, ...]] = collections.Counter()
    if not raw.exists():
        return stacks
    for line in raw.read_text(errors="replace").splitlines():
        frames, _, count = line.rpartition(" ")
        if frames and count.isdigit():
            stacks[tuple(frames.split(";"))] += int(count)
    return stacks


def _frame(name: str) -> str:
    # py-spy frames look like "function (path/to/module.py:123)"
    function, _, where = name.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    if "/worker/" in where:
        where = "worker/" + where.split("/worker/", 1)[1]
    elif "site-packages/" in where:
        where = where.split("site-packages/", 1)[1].split("/", 1)[0]
    return f"{where}:{function}"


def report(name: str, stacks: collections.Counter[tuple[str, ...]], top: int) -> str:
    total = sum(stacks.values()) or 1
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    for frames, count in stacks.items():
        names = [_frame(f) for f in frames]
        for ours in {n for n in names if n.startswith("worker/")}:
            inclusive[ours] += count
        if names:
            own[names[-1]] += count
    lines = [f"### {name}: {total} samples", "", "| inclusive | our function |", "|---:|---|"]
    lines += [f"| {100 * c / total:.1f}% | `{n}` |" for n, c in inclusive.most_common(top)]
    lines += ["", "| self | frame |", "|---:|---|"]
    lines += [f"| {100 * c / total:.1f}% | `{n}` |" for n, c in own.most_common(top)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--top", type=int, default=25)
    add_corpus_option(parser)
    args = parser.parse_args(argv)
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    files = build(args.files, articles=load(args.corpus))
    with harness.servers() as servers:
        root = servers.root / "profile"
        inbox, stage = harness.stage(root, files)
        env = harness.ingest_env(
            root, servers.fresh_database(), servers.broker(2), str(inbox), args.concurrency
        )
        worker, watcher = harness.start_stack(env, root, settle_s=4)
        pids = {"watcher": watcher.process.pid}
        for i, child in enumerate(psutil.Process(worker.process.pid).children()):
            pids[f"worker pool process {i + 1}"] = child.pid
        spies = {
            name: subprocess.Popen(
                [
                    spy,
                    "record",
                    "-p",
                    str(pid),
                    "-r",
                    "200",
                    "-f",
                    "raw",
                    "-o",
                    str(root / f"{pid}.txt"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for name, pid in pids.items()
        }
        time.sleep(1)
        for f in files:
            os.rename(stage / f.name, inbox / f.name)
        url = env["INGEST_DATABASE_URL"]
        harness.wait_until(
            lambda: (
                harness.count(url, "SELECT count(*) FROM ingest_files WHERE status <> 'processing'")
                >= len(files)
            ),
            timeout=max(120, len(files) / 50),
        )
        for spy_process in spies.values():
            spy_process.send_signal(2)  # SIGINT: py-spy writes its output and exits
        for spy_process in spies.values():
            spy_process.wait(timeout=60)
        harness.stop(watcher)
        harness.stop(worker)
        for name, pid in pids.items():
            print(report(name, _collapse(root / f"{pid}.txt"), args.top) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
