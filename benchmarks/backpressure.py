"""Valkey's memory and the throughput with back-pressure off and at several limits, side by side.

    python -m benchmarks.backpressure                      # 200,000 files; limits 0 (off),
                                                           # 2,000, 5,000, 20,000, 50,000
    python -m benchmarks.backpressure --files 20000 --limits 0,20000   # a quick look

For each `max_queued_files`, in one run on one machine: a fresh Valkey (so its
peaks are this run's alone), a fresh database, a real watcher and 2 Celery
worker processes on a folder inbox, and the whole workload (small articles in
the reference format, 3 KB on average) renamed into the inbox at once. Sampled
every 0.2 s until every file has its fate: the valkey-server process's resident
memory, Valkey's own `used_memory`, the queue's length (batches waiting) and
the watcher's resident memory; at the end `INFO memory`'s used_memory_peak.
Throughput is files with a fate per second from the burst to the last fate.
Compare the columns within one run: absolute figures drift on a shared machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import psutil
import redis

from benchmarks import harness
from benchmarks.corpus import add_corpus_option, load
from benchmarks.workload import DropFile, build
from worker.constants import QUEUE
from worker.embedded import EmbeddedValkey

DEFAULT_LIMITS = (0, 2_000, 5_000, 20_000, 50_000)
SAMPLE_S = 0.2
SPOOL_EVERY = 5  # samples: a look at a spool of 200,000 entries costs tens of ms
MB = 2**20
FINISHED = "SELECT count(*) FROM ingest_files WHERE status <> 'processing'"


class BrokerSampler(harness.Sampler):
    """Peaks of the valkey-server process, of Valkey's own accounting and of the queue,
    and of the watcher's resident memory, sampled in a thread."""

    def __init__(
        self, valkey: EmbeddedValkey, url: str, watcher: harness.Proc, spool: Path
    ) -> None:
        super().__init__(SAMPLE_S)
        assert valkey.pid is not None
        self.process = psutil.Process(valkey.pid)
        self.client = redis.Redis.from_url(url, socket_timeout=5)
        self.watcher = watcher
        self.spool = spool
        self.peak = {"rss": 0, "used_memory": 0, "queue": 0, "watcher_rss": 0, "spool": 0}
        self._rounds = 0

    def sample(self) -> None:
        self._rounds += 1
        if self._rounds % SPOOL_EVERY == 0:  # claims waiting for a fate: what the limit bounds
            with contextlib.suppress(OSError), os.scandir(self.spool) as entries:
                self._max("spool", sum(1 for _ in entries))
        self._max("rss", self.process.memory_info().rss)
        self._max("used_memory", int(self.client.info("memory")["used_memory"]))
        self._max("queue", int(self.client.llen(QUEUE)))
        with contextlib.suppress(psutil.NoSuchProcess):
            watcher = psutil.Process(self.watcher.process.pid)
            self._max("watcher_rss", watcher.memory_info().rss)

    def _max(self, key: str, value: int) -> None:
        self.peak[key] = max(self.peak[key], value)


def run(servers: harness.Servers, files: list[DropFile], limit: int) -> dict[str, Any]:
    root = servers.root / f"limit-{limit}"
    valkey = EmbeddedValkey(root)
    broker_url = valkey.start()
    try:
        inbox, staged = harness.stage(root, files)
        url = servers.fresh_database()
        env = harness.ingest_env(
            root, url, broker_url, str(inbox), 2, INGEST_MAX_QUEUED_FILES=str(limit)
        )
        worker, watcher = harness.start_stack(env, root)
        client = redis.Redis.from_url(broker_url)
        idle = {
            "rss": psutil.Process(valkey.pid).memory_info().rss,
            "used_memory": int(client.info("memory")["used_memory"]),
        }
        spool = inbox / ".ingest" / "spool"
        with BrokerSampler(valkey, broker_url, watcher, spool) as sampler:
            started = time.monotonic()
            for f in files:
                os.rename(staged / f.name, inbox / f.name)
            dropped = time.monotonic() - started
            done_at = harness.wait_until(
                lambda: harness.count(url, FINISHED) >= len(files),
                timeout=max(600, len(files) / 20),
                interval=0.5,
            )
        used_peak = int(client.info("memory")["used_memory_peak"])
        client.close()
        for proc in (watcher, worker):
            harness.stop(proc)
        elapsed = done_at - started
        return {
            "max_queued_files": limit,
            "files": len(files),
            "seconds": round(elapsed, 1),
            "files_per_s": round(len(files) / elapsed, 1),
            "drop_seconds": round(dropped, 1),
            "valkey_idle_rss_mb": round(idle["rss"] / MB, 1),
            "valkey_peak_rss_mb": round(sampler.peak["rss"] / MB, 1),
            "valkey_idle_used_mb": round(idle["used_memory"] / MB, 1),
            "valkey_used_memory_peak_mb": round(used_peak / MB, 1),
            "queue_peak_batches": sampler.peak["queue"],
            "spool_peak_claims": sampler.peak["spool"],
            "holdback_messages": _pauses(root / "watcher.log"),
            "watcher_peak_rss_mb": round(sampler.peak["watcher_rss"] / MB, 1),
        }
    finally:
        valkey.stop()
        shutil.rmtree(root, ignore_errors=True)  # hundreds of MB of outcome files


def _pauses(log: Path) -> int:
    """How often the watcher said it paused claiming (back-pressure at work)."""
    try:
        return log.read_text(errors="replace").count("claiming paused")
    except OSError:
        return 0


def render(r: dict[str, Any]) -> str:
    runs = r["runs"]
    off = next((x for x in runs if x["max_queued_files"] == 0), runs[0])
    lines = [
        f"Back-pressure — {r['date']}, {r['machine']}",
        f"{r['files']:,} files ({r['corpus']}) renamed into the inbox at once; "
        "2 worker processes; a fresh Valkey per row",
        "",
        "| max_queued_files | Valkey peak RSS | Valkey used_memory_peak | queue peak "
        "| claims waiting, peak | watcher peak RSS | files/s | throughput vs off |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for x in runs:
        limit = "0 (off)" if x["max_queued_files"] == 0 else f"{x['max_queued_files']:,}"
        lines.append(
            f"| {limit} | {x['valkey_peak_rss_mb']:,.1f} MB | "
            f"{x['valkey_used_memory_peak_mb']:,.1f} MB | {x['queue_peak_batches']:,} batches "
            f"| {x['spool_peak_claims']:,} | {x['watcher_peak_rss_mb']:,.1f} MB "
            f"| {x['files_per_s']:,.0f} "
            f"| {x['files_per_s'] / off['files_per_s']:.2f}x |"
        )
    lines += [
        "",
        f"Idle Valkey: {off['valkey_idle_rss_mb']} MB RSS, {off['valkey_idle_used_mb']} MB used.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200_000)
    parser.add_argument(
        "--limits",
        default=",".join(map(str, DEFAULT_LIMITS)),
        help="max_queued_files values, comma-separated (0: back-pressure off)",
    )
    parser.add_argument("--json", type=Path, help="write all figures to this file")
    add_corpus_option(parser)
    args = parser.parse_args(argv)
    limits = [int(v) for v in args.limits.split(",")]

    articles = load(args.corpus)
    files = build(args.files, articles=articles)
    results: dict[str, Any] = {
        **harness.about(args.corpus, len(articles)),
        "files": len(files),
        "runs": [],
    }
    with harness.servers() as servers:
        for limit in limits:
            results["runs"].append(run(servers, files, limit))
            print(json.dumps(results["runs"][-1]), flush=True)
    print(render(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
