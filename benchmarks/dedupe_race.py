"""Race: groups of near-copies ingested by several worker processes at once.

Builds ``groups`` stories from corpus articles (the generated corpus, or a
BBC-style folder with ``--corpus DIR``), each as ``copies`` near-copies
(the original; re-titled with a byline and typographic quotes; a paragraph
dropped; a dateline and a sign-off added), puts every file in the spool as
its own claim, starts an embedded PostgreSQL and Valkey and ``workers`` real
``ingest worker`` processes, then publishes one single-file task per copy,
the copies of a group adjacent in the queue, so they are picked up at the
same moment by different workers. Reports the groups that ended with more than
one canonical document (must be 0), links across groups (must be 0), and the
time taken.

Every copy of a group is at or above the threshold with every other copy
(estimated similarity, checked when the groups are built) and no two groups
share a band key, so any order of arrival must give one canonical per group.

Run from the repository root::

    python -m benchmarks.dedupe_race [--groups 200] [--copies 4] [--workers 4] [--corpus DIR]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import psycopg

from benchmarks.corpus import Article, add_corpus_option, describe, load
from worker.db import migrate
from worker.dedupe.minhash import MinHashParams, fingerprint, similarity
from worker.embedded import EmbeddedPostgres, EmbeddedValkey
from worker.files.claims import Claim
from worker.files.spool import claim_now
from worker.settings import Settings

PARAMS = MinHashParams()
DATE = "2005-03-01"


def paragraphs(article: Article) -> list[str]:
    return [p.strip() for p in article.body.split("\n") if p.strip()]


def near_copies(title: str, paras: Sequence[str]) -> list[str]:
    """The original and three near-copies of one story, as bodies (title first)."""
    body = "\n\n".join(paras)
    shortest = min(range(1, len(paras) - 1), key=lambda i: len(paras[i]))
    quoted = body.replace("'", "\u2019").replace(' "', " \u201c").replace('" ', "\u201d ")
    return [
        f"{title}\n\n{body}",
        f"{title.upper()} - UPDATED\n\nBy Staff Reporter, Wire Service\n\n{quoted}",
        f"{title}\n\n" + "\n\n".join(p for i, p in enumerate(paras) if i != shortest),
        f"LONDON (Wire) - {title}\n\n{body}\n\n(Reporting by Wire staff; editing by Desk)",
    ]


def dated(body: str) -> bytes:
    return f"date {DATE} {body}\n".encode()


def build_groups(
    articles: Sequence[Article], groups: int, copies: int = 4, min_paragraphs: int = 6
) -> list[list[str]]:
    """Groups whose copies all match each other and share no band key with another group."""
    if not 1 <= copies <= 4:
        raise ValueError("between 1 and 4 copies per group")
    chosen: list[list[str]] = []
    taken: set[int] = set()
    for article in articles:
        paras = paragraphs(article)
        if len(paras) < min_paragraphs:
            continue
        texts = near_copies(article.title, paras)[:copies]
        prints = [fingerprint(t, PARAMS) for t in texts]
        if len({p.content_sha256 for p in prints}) != len(prints):
            continue
        if any(
            similarity(a.signature, b.signature) < PARAMS.threshold
            for a, b in itertools.combinations(prints, 2)
        ):
            continue
        keys = {k for p in prints for k in p.band_keys}
        if keys & taken:  # a repeat or near-copy of a story already chosen
            continue
        taken |= keys
        chosen.append(texts)
        if len(chosen) == groups:
            return chosen
    raise ValueError(f"only {len(chosen)} usable articles for {groups} groups")


def _worker_env(
    url: str, broker: str, settings: Settings, extra: Mapping[str, str]
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGEST_")}
    env.update(
        INGEST_CONFIG=os.devnull,
        INGEST_DATABASE_URL=url,
        INGEST_BROKER_URL=broker,
        INGEST_INBOX=str(settings.inbox_dir),
        INGEST_DATA_DIR=str(settings.state_dir),
        INGEST_LOG_LEVEL="INFO",
    )
    env.update(extra)
    return env


def _wait(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.2)


def _count(url: str, sql: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(sql.encode()).fetchone()
        return int(row[0]) if row else 0


def run(
    groups: int = 200,
    copies: int = 4,
    workers: int = 4,
    concurrency: int = 1,
    corpus: Path | None = None,
    timeout: float = 900.0,
    worker_env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Run the race once on fresh embedded servers; return the figures."""
    articles = load(corpus)
    texts = build_groups(articles, groups, copies)
    base = Path(tempfile.mkdtemp(prefix="dedupe-race-"))
    base.chmod(0o711)  # as root, PostgreSQL's own user must reach its data below
    postgres = EmbeddedPostgres(base / "data")
    valkey = EmbeddedValkey(base / "data")
    processes: list[subprocess.Popen[bytes]] = []
    try:
        url = postgres.start()
        migrate.apply(url)
        broker = valkey.start()
        settings = Settings(
            database_url=url, broker_url=broker, inbox=base / "inbox", data_dir=base / "state"
        )
        claims = _spool(settings, texts)
        env = _worker_env(url, broker, settings, worker_env or {})
        for i in range(workers):
            log = open(base / f"worker{i}.log", "wb")  # noqa: SIM115 - lives with the process
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "worker", "worker"],
                    env=env | {"INGEST_CONCURRENCY": str(concurrency)},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        logs = [base / f"worker{i}.log" for i in range(workers)]

        def ready() -> bool:
            if any(p.poll() is not None for p in processes):
                raise RuntimeError("a worker process exited")
            return all(b" ready." in p.read_bytes() for p in logs)

        _wait(ready, 120, "workers ready")

        from worker.broker.app import create
        from worker.constants import TASK_BATCH

        app = create(settings)
        started = time.perf_counter()
        with app.producer_or_acquire() as producer:
            for item in claims:
                app.send_task(TASK_BATCH, args=[[item.to_json()]], producer=producer)
        total = len(claims)
        finished_sql = "SELECT count(*) FROM ingest_files WHERE status <> 'processing'"
        _wait(lambda: _count(url, finished_sql) >= total, timeout, f"{total} finished files")
        elapsed = time.perf_counter() - started
        result = _outcome(url, groups, copies)
        result.update(
            corpus=describe(corpus, len(articles)),
            workers=workers,
            concurrency=concurrency,
            files=total,
            seconds=round(elapsed, 2),
            files_per_second=round(total / elapsed, 1),
        )
        return result
    except BaseException:
        for path in sorted(base.glob("worker*.log")):
            tail = path.read_text(errors="replace")[-3000:]
            print(f"--- {path.name} ---\n{tail}", file=sys.stderr)
        raise
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        valkey.stop()
        postgres.stop()
        shutil.rmtree(base, ignore_errors=True)


def _spool(settings: Settings, texts: list[list[str]]) -> list[Claim]:
    """Drop and claim every copy, group by group: the copies of a group are adjacent."""
    claims = []
    settings.spool_dir.mkdir(parents=True, exist_ok=True)
    for g, group in enumerate(texts):
        for c, body in enumerate(group):
            path = settings.inbox_dir / f"g{g:04d}" / f"c{c}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(dated(body))
            claims.append(claim_now(settings, path.relative_to(settings.inbox_dir).as_posix()))
    return claims


def _outcome(url: str, groups: int, copies: int) -> dict[str, Any]:
    with psycopg.connect(url, autocommit=True) as conn:
        files = conn.execute(
            "SELECT f.name, f.status, d.id, d.near_duplicate_of"
            " FROM ingest_files f LEFT JOIN documents d ON d.id = f.document_id"
        ).fetchall()
    statuses: dict[str, int] = {}
    canonical: dict[str, set[int]] = {}
    roots: dict[str, set[int]] = {}
    group_of_doc: dict[int, str] = {}
    for name, status, doc_id, near in files:
        statuses[status] = statuses.get(status, 0) + 1
        group = name.split("/", 1)[0]
        if doc_id is None:
            continue
        group_of_doc[doc_id] = group
        roots.setdefault(group, set()).add(near if near is not None else doc_id)
        if near is None:
            canonical.setdefault(group, set()).add(doc_id)
    cross = sum(
        1 for group, found in roots.items() for r in found if group_of_doc.get(r, group) != group
    )
    return {
        "groups": groups,
        "copies": copies,
        "statuses": statuses,
        "groups_with_more_than_one_canonical": sum(1 for c in canonical.values() if len(c) > 1),
        "groups_without_canonical": groups - len(canonical),
        "groups_with_more_than_one_root": sum(1 for r in roots.values() if len(r) > 1),
        "links_across_groups": cross,
    }


def table(result: Mapping[str, Any]) -> str:
    rows = [
        ("stories from", result["corpus"]),
        ("groups x copies", f"{result['groups']} x {result['copies']} = {result['files']} files"),
        ("worker processes", f"{result['workers']} x concurrency {result['concurrency']}"),
        ("file fates", ", ".join(f"{k} {v}" for k, v in sorted(result["statuses"].items()))),
        (
            "groups with more than one canonical (must be 0)",
            str(result["groups_with_more_than_one_canonical"]),
        ),
        ("groups with more than one root", str(result["groups_with_more_than_one_root"])),
        ("links across groups (must be 0)", str(result["links_across_groups"])),
        (
            "time, publish to last fate",
            f"{result['seconds']} s ({result['files_per_second']} files/s)",
        ),
    ]
    lines = ["| what | figure |", "|---|---|"]
    lines += [f"| {what} | {figure} |" for what, figure in rows]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--workers", type=int, default=4, help="worker processes")
    parser.add_argument("--concurrency", type=int, default=1, help="pool size of each worker")
    add_corpus_option(parser)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args(argv)
    result = run(args.groups, args.copies, args.workers, args.concurrency, args.corpus)
    print(table(result))
    if args.json:
        print(json.dumps(result))
    failed = result["groups_with_more_than_one_canonical"] or result["links_across_groups"]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
