"""Throughput, latency and memory of the real stack, side by side with baselines.

    python -m benchmarks.throughput                 # 20,000 files, prints a table
    python -m benchmarks.throughput --files 100000  # the long memory run
    python -m benchmarks.throughput --corpus DIR    # workload from a BBC-style folder

One run, one machine, same workload: ours end to end (watcher + Celery workers,
exact and near-duplicate dedupe on), the naive design (one task per file, one
commit per document), and the database's own limit (binary COPY of the same
final rows into the same tables). Then single-file latency at about 10 files/s,
and peak resident memory of every worker process. Figures are reported as
ratios too: absolute numbers drift on shared machines.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import psycopg

from benchmarks import harness
from benchmarks.corpus import add_corpus_option, load
from benchmarks.workload import DropFile, build


def run_ours(
    servers: harness.Servers, files: list[DropFile], concurrency: int, tag: str
) -> dict[str, Any]:
    url = servers.fresh_database()
    root = servers.root / f"ours-{tag}"
    inbox, stage = harness.stage(root, files)
    env = harness.ingest_env(root, url, servers.broker(1), str(inbox), concurrency)
    worker, watcher = harness.start_stack(env, root)
    with harness.RssSampler([worker, watcher]) as _sampler:
        cpu_before = {
            **harness.cpu_seconds([worker, watcher]),
            **harness.server_cpu_seconds(servers),
        }
        started = time.monotonic()
        for f in files:
            os.rename(stage / f.name, inbox / f.name)
        dropped = time.monotonic() - started
        total = len(files)
        progress: list[tuple[float, int, float]] = []  # (s since drop, files done, PG CPU s)

        def done() -> bool:
            finished = harness.count(
                url, "SELECT count(*) FROM ingest_files WHERE status <> 'processing'"
            )
            pg = harness.server_cpu_seconds(servers)["postgres"]
            progress.append((time.monotonic() - started, finished, pg))
            return finished >= total

        done_at = harness.wait_until(done, timeout=max(120, total / 50), interval=0.5)
    elapsed = done_at - started
    cpu_after = {**harness.cpu_seconds([worker, watcher]), **harness.server_cpu_seconds(servers)}
    cpu_per_file_us = harness.cpu_per_file(cpu_before, cpu_after, total)
    for proc in (watcher, worker):
        harness.stop(proc)
    counts = dict(_rows(url, "SELECT status, count(*) FROM ingest_files GROUP BY status"))
    docs = harness.count(url, "SELECT count(*) FROM documents")
    near = harness.count(url, "SELECT count(*) FROM documents WHERE near_duplicate_of IS NOT NULL")
    children = {pid: rss for pid, rss in worker.peak_rss.items() if pid != worker.process.pid}
    return {
        "files": total,
        "seconds": elapsed,
        "files_per_s": total / elapsed,
        "docs_per_s": docs / elapsed,
        "documents": docs,
        "near_duplicates": near,
        "fates": counts,
        "drop_seconds": dropped,
        "url": url,
        "cpu_us_per_file": cpu_per_file_us,
        "worker_peak_rss_mb": sorted(round(v / 2**20) for v in children.values()),
        "worker_samples": {pid: worker.samples.get(pid, []) for pid in children},
        "tenths": tenths(progress, total, cpu_before["postgres"]),
    }


def tenths(
    progress: list[tuple[float, int, float]], total: int, pg_before: float
) -> dict[str, float]:
    """Files/s and PostgreSQL CPU per file in the first and the last tenth of the run.

    The moments 10% and 90% of the files were done are interpolated between polls
    (half a second apart: a short run's tenth spans only a few). A flat run has a
    ratio near 1. The first tenth counts from the drop, with the database's CPU
    from before it.
    """
    points = [(0.0, 0, pg_before), *progress]

    def at(share: float) -> tuple[float, float, float]:
        goal = share * total
        for (t0, n0, c0), (t1, n1, c1) in itertools.pairwise(points):
            if n1 >= goal:
                f = (goal - n0) / (n1 - n0) if n1 > n0 else 1.0
                return t0 + f * (t1 - t0), goal, c0 + f * (c1 - c0)
        t, n, c = points[-1]
        return t, float(n), c

    start, first, late, end = points[0], at(0.1), at(0.9), points[-1]
    spans = ((start, first), (late, end))
    rate = [(b[1] - a[1]) / max(b[0] - a[0], 1e-9) for a, b in spans]
    pg = [(b[2] - a[2]) / max(b[1] - a[1], 1) * 1e6 for a, b in spans]
    return {
        "first_files_per_s": rate[0],
        "last_files_per_s": rate[1],
        "ratio": rate[1] / rate[0] if rate[0] else 0.0,
        "first_pg_us_per_file": pg[0],
        "last_pg_us_per_file": pg[1],
    }


def run_naive(servers: harness.Servers, files: list[DropFile], concurrency: int) -> dict[str, Any]:
    from benchmarks import naive

    url = servers.fresh_database()
    root = servers.root / "naive"
    _inbox, stage = harness.stage(root, files)
    broker = servers.broker(2)
    env = harness.env_for(NAIVE_DATABASE_URL=url, NAIVE_BROKER_URL=broker)
    worker = harness.start(
        "naive",
        [
            "-m",
            "celery",
            "-A",
            "benchmarks.naive",
            "worker",
            "-Q",
            "naive",
            "--concurrency",
            str(concurrency),
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "WARNING",
        ],
        env,
        root / "worker.log",
    )
    time.sleep(3)
    naive.app.conf.broker_url = broker
    started = time.monotonic()
    for i, f in enumerate(files):
        naive.ingest_file.apply_async(args=[str(stage / f.name), f"naive-{i}"])
    done_at = harness.wait_until(
        lambda: (
            harness.count(url, "SELECT count(*) FROM ingest_files WHERE status <> 'processing'")
            >= len(files)
        ),
        timeout=max(300, len(files) / 20),
    )
    harness.stop(worker)
    elapsed = done_at - started
    docs = harness.count(url, "SELECT count(*) FROM documents")
    return {"seconds": elapsed, "docs_per_s": docs / elapsed, "documents": docs}


def run_copy(servers: harness.Servers, source_url: str) -> dict[str, Any]:
    """Binary COPY of the same final rows into the same (empty, migrated) tables."""
    target = servers.fresh_database()
    tables = [t for t in ("ingest_files", "documents", "document_bands") if _exists(source_url, t)]
    dumps: dict[str, bytes] = {}
    with psycopg.connect(source_url) as src:
        for table in tables:
            buffer = io.BytesIO()
            with src.cursor().copy(f"COPY {table} TO STDOUT (FORMAT BINARY)") as copy:
                for chunk in copy:
                    buffer.write(chunk)
            dumps[table] = buffer.getvalue()
    with psycopg.connect(target) as dst:
        if "ingest_files" in tables:  # its document_id points back at documents
            dst.execute("ALTER TABLE ingest_files DROP CONSTRAINT ingest_files_document_fk")
            dst.commit()
        started = time.monotonic()
        with dst.transaction():
            for table in tables:
                with dst.cursor().copy(f"COPY {table} FROM STDIN (FORMAT BINARY)") as c:
                    c.write(dumps[table])
        elapsed = time.monotonic() - started
    docs = harness.count(target, "SELECT count(*) FROM documents")
    return {"seconds": elapsed, "docs_per_s": docs / elapsed, "documents": docs, "tables": tables}


def run_latency(servers: harness.Servers, files: list[DropFile], rate: float) -> dict[str, Any]:
    url = servers.fresh_database()
    root = servers.root / "latency"
    inbox = root / "inbox"
    stage = root / "stage"
    stage.mkdir(parents=True)
    inbox.mkdir(parents=True)
    env = harness.ingest_env(root, url, servers.broker(3), str(inbox), 2)
    worker, watcher = harness.start_stack(env, root)
    closed: dict[str, float] = {}
    for i, f in enumerate(files):
        name = f"l{i:05d}.txt"
        with open(stage / name, "wb") as handle:
            handle.write(f.data)
        os.rename(stage / name, inbox / name)
        closed[name] = time.time()
        time.sleep(max(0.0, 1 / rate))
    harness.wait_until(
        lambda: (
            harness.count(url, "SELECT count(*) FROM ingest_files WHERE status <> 'processing'")
            >= len(files)
        ),
        timeout=60,
    )
    for proc in (watcher, worker):
        harness.stop(proc)
    rows = _rows(url, "SELECT name, extract(epoch FROM finished_at) FROM ingest_files")
    latencies = sorted((float(ts) - closed[name]) * 1000 for name, ts in rows)
    return {
        "files": len(latencies),
        "p50_ms": _pct(latencies, 50),
        "p95_ms": _pct(latencies, 95),
        "p99_ms": _pct(latencies, 99),
        "max_ms": latencies[-1],
    }


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]


def _rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql).fetchall()  # type: ignore[arg-type]


def _exists(url: str, table: str) -> bool:
    return bool(_rows(url, f"SELECT to_regclass('{table}') IS NOT NULL")[0][0])


def memory_growth(samples: dict[int, list[int]]) -> float:
    """Largest growth of any worker process from after warm-up (20%) to the end, in %."""
    worst = 0.0
    for series in samples.values():
        if len(series) < 10:
            continue
        warm = statistics.median(series[len(series) // 5 : len(series) // 5 + 5])
        end = statistics.median(series[-5:])
        worst = max(worst, (end - warm) / warm * 100)
    return worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument(
        "--naive-files",
        type=int,
        default=None,
        help="files for the naive baseline (default: same as --files)",
    )
    parser.add_argument("--latency-files", type=int, default=200)
    parser.add_argument("--scaling", action="store_true", help="also run with 1 worker process")
    parser.add_argument("--json", type=Path, help="write all figures to this file")
    add_corpus_option(parser)
    args = parser.parse_args(argv)

    articles = load(args.corpus)
    files = build(args.files, articles=articles)
    naive_files = files[: args.naive_files] if args.naive_files else files
    results: dict[str, Any] = harness.about(args.corpus, len(articles))
    with harness.servers() as servers:
        results["ours"] = run_ours(servers, files, concurrency=2, tag="c2")
        if args.scaling:
            results["ours_c1"] = run_ours(servers, files, concurrency=1, tag="c1")
        results["naive"] = run_naive(servers, naive_files, concurrency=2)
        results["copy"] = run_copy(servers, results["ours"]["url"])
        latency_files = build(args.latency_files, seed=11, articles=articles)
        results["latency"] = run_latency(servers, latency_files, rate=10)
    ours = results["ours"]
    ours["memory_growth_pct"] = memory_growth(ours.pop("worker_samples"))
    print(render(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0


def _mb(values: list[int]) -> str:
    return ", ".join(map(str, values))


def render(r: dict[str, Any]) -> str:
    ours, naive, copy, lat = r["ours"], r["naive"], r["copy"], r["latency"]
    t = ours["tenths"]
    lines = [
        f"Throughput and latency — {r['date']}, {r['machine']}",
        "",
        "| figure | value | target |",
        "|---|---:|---|",
        f"| files dropped | {ours['files']:,} ({ours['documents']:,} documents, "
        f"{ours['near_duplicates']:,} near-duplicates) from {r['corpus']} | |",
        f"| ours, end to end (2 worker processes) | {ours['docs_per_s']:,.0f} docs/s "
        f"({ours['files_per_s']:,.0f} files/s) | ≥ 3,000 docs/s |",
    ]
    if "ours_c1" in r:
        c1 = r["ours_c1"]
        lines.append(
            f"| ours, 1 worker process | {c1['docs_per_s']:,.0f} docs/s "
            f"(x{ours['docs_per_s'] / c1['docs_per_s']:.2f} with 2) | |"
        )
    lines += [
        f"| naive: task per file, commit per document | {naive['docs_per_s']:,.0f} docs/s | |",
        f"| COPY of the same rows (database limit) | {copy['docs_per_s']:,.0f} docs/s | |",
        f"| **ours / naive** | **{ours['docs_per_s'] / naive['docs_per_s']:.1f}x** | ≥ 4x |",
        f"| **ours / COPY** | **{ours['docs_per_s'] / copy['docs_per_s'] * 100:.0f}%** | ≥ 50% |",
        f"| latency p50 / p95 / p99 ({lat['files']} files at ~10/s) | {lat['p50_ms']:.0f} / "
        f"{lat['p95_ms']:.0f} / {lat['p99_ms']:.0f} ms | p50 ≤ 150, p99 ≤ 500 ms |",
        f"| worker peak RSS (per process) | {_mb(ours['worker_peak_rss_mb'])} MB | |",
        f"| worker memory growth after warm-up | {ours['memory_growth_pct']:+.1f}% | ≤ 10% |",
        f"| last tenth / first tenth of the run | files/s x{t['ratio']:.2f} "
        f"({t['first_files_per_s']:,.0f} → {t['last_files_per_s']:,.0f}); PostgreSQL CPU "
        f"per file {t['first_pg_us_per_file']:,.0f} → {t['last_pg_us_per_file']:,.0f} µs "
        "| ≥ 0.9, flat |",
        "",
        "CPU per file, by process (µs; 2 cores = 2,000,000 µs/s): "
        + ", ".join(f"{k} {v:,}" for k, v in ours["cpu_us_per_file"].items()),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
