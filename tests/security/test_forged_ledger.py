"""Found while testing item 1: a forged ledger row must not steer the operator's commands.

The workers' login (a member of ingest_writer) may insert a ledger row's claim
id and name and update its fate and `outcome_path`: the privileges its
queries need. Someone holding that login (stolen from a worker host) forges
rows whose outcome path names a file waiting in the spool, the pending
sidecars, the files folder itself or a climb, and one whose claim id carries a
slash. `ingest prune`, `ingest retry` and `ingest rejected --release`, run by
the operator as root, touch none of those files.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from tests.security.attack import (
    Canary,
    article,
    execute,
    ingest,
    open_stack,
    settings_of,
    shared_root,
)
from tests.security.conftest import NewServers
from tests.support import Stack, wait_for
from worker.broker.publish import celery_publisher
from worker.db.roles import WRITER, ensure_login
from worker.files.spool import claim_now, prepare_folders
from worker.logs import printable

UNDATED = "Words without a date line, long enough to be judged on their merits: {}."


@pytest.fixture(scope="module")
def world(new_servers: NewServers, pg_admin_url: str) -> Iterator[tuple[Stack, str, Canary]]:
    database_url, broker_url = new_servers()
    login = f"sec_forger_{uuid.uuid4().hex[:8]}"
    ensure_login(database_url, login, "stolen", WRITER)
    with shared_root("ledger") as root:
        stack = open_stack(root, database_url, broker_url, INGEST_POLL_INTERVAL_S="0.2")
        canary = Canary.plant(root)
        try:
            yield stack, make_conninfo(database_url, user=login), canary
        finally:
            stack.stop()
            execute(
                pg_admin_url,
                sql.SQL("DROP OWNED BY {0}; DROP ROLE IF EXISTS {0}")
                .format(sql.Identifier(login))
                .as_string(),
            )


def forge(
    writer_url: str, claim_id: str, name: str, status: str, path: str, days_ago: int = 400
) -> int:
    """A finished ledger row, written with the workers' privileges only."""
    with psycopg.connect(writer_url, autocommit=True) as conn:
        row = conn.execute(
            "INSERT INTO ingest_files (claim_id, name, received_at) VALUES (%s, %s, now()) "
            "RETURNING id",
            (claim_id, name),
        ).fetchone()
        assert row is not None
        conn.execute(
            "UPDATE ingest_files SET status = %s, reason = 'missing_date', detail = 'forged', "
            "finished_at = now() - make_interval(days => %s), outcome_path = %s WHERE id = %s",
            (status, days_ago, path, row[0]),
        )
        return int(row[0])


def new_id(i: int) -> str:
    return f"{0x1000000000000000 + i:016x}-{uuid.uuid4().hex[:8]}"


def test_forged_outcome_paths_and_claim_ids_touch_nothing(
    world: tuple[Stack, str, Canary],
) -> None:
    """Found: rows forged with the writer's privileges whose outcome path names a
    file in the spool, a pending sidecar, a climb, the files folder or a fate folder
    itself, and a failed row whose claim id carries `/..` over a kept file: `ingest
    prune`, `ingest retry` and `ingest rejected --release` leave every one of those
    files in place, and nothing moves out of the files folder. (Within the outcome
    folders the ledger is trusted: a forged row can make `prune` delete a kept file.)"""
    stack, writer_url, canary = world
    settings = settings_of(stack)
    prepare_folders(settings)
    stack.drop("victim.txt", article("a victim waiting in the spool"))
    victim = claim_now(settings, "victim.txt")  # claimed, not published: it waits
    (entry,) = stack.spool_files()
    victim_bytes = entry.read_bytes()
    pending = stack.work / "errors" / ".pending"
    pending.mkdir(parents=True)
    (pending / f"{new_id(99)}.json").write_text('{"outcome_path": "rejected/x"}')
    climb = "../" * 6 + str(canary.path).lstrip("/")
    paths = [
        f"spool/{entry.name}",
        f"errors/.pending/{next(pending.iterdir()).name}",
        climb,
        f"rejected/../spool/{entry.name}",
        "",
        "rejected",
        ".",
    ]
    for i, path in enumerate(paths):
        forge(writer_url, new_id(i), f"forged-{i}.txt", "rejected", path)
        forge(writer_url, new_id(100 + i), f"failed-{i}.txt", "failed", path)
    # A real rejected file, then a failed row forged over its path with a climbing claim id.
    stack.start(watcher=False)  # a watcher would publish the victim's claim again
    stack.drop("real.txt", UNDATED.format("kept in rejected"))
    celery_publisher(settings)([claim_now(settings, "real.txt")])
    real = wait_for(
        lambda: next((r for r in stack.finished() if r["name"] == "real.txt"), None), 20
    )
    assert real["status"] == "rejected"
    kept = stack.work / real["outcome_path"]
    wait_for(kept.exists, 40, what="the real file kept")
    kept_bytes = kept.read_bytes()
    evil_id = f"{0x1000000000000000:016x}-{'/..' * 8}{canary.folder}/x"
    # Fresh (prune keeps it): `ingest retry` is the command it aims at.
    forge(writer_url, evil_id, "y", "failed", real["outcome_path"], days_ago=0)

    outputs: list[Any] = [
        ingest(stack, "prune", INGEST_KEEP_REJECTED_DAYS="100", INGEST_KEEP_FAILED_DAYS="100"),
        ingest(stack, "retry"),
        *(ingest(stack, "rejected", "--release", f"forged-{i}.txt") for i in range(len(paths))),
    ]
    assert entry.read_bytes() == victim_bytes, "a file waiting in the spool was touched"
    assert (pending / next(pending.iterdir()).name).exists()
    assert kept.read_bytes() == kept_bytes, "a kept file was moved by a forged row"
    canary.assert_in_place()
    assert not (canary.folder / "x.y").exists()
    assert stack.work.is_dir() and (stack.work / "rejected").is_dir()
    assert not (stack.inbox / "victim.txt").exists()
    for done in outputs:
        assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert victim.claim_id in entry.name
    assert "not a claim id" in outputs[1].stderr, outputs[1].stdout + outputs[1].stderr
    # The forged row is skipped alone: the other failed rows are still answered for.
    assert f"{printable('y')}: invalid" in outputs[1].stdout, outputs[1].stdout
    assert outputs[1].stdout.count(": missing") == len(paths), outputs[1].stdout
