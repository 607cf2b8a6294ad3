"""Item 4 (M): dropped bytes are never overwritten, and every sidecar describes its own file.

Sidecars live in their own namespace (`errors/...`), so a dropped file named
like a sidecar is just a file. Same-named files finishing close together (one
batch, or two batches at once) are all kept, the second under
`<name>.<claim_id>`, and the ledger's `outcome_path` of each names its own bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.security.attack import article, open_stack, settings_of, shared_root
from tests.security.conftest import NewServers
from tests.support import Stack, wait_for
from worker.broker.publish import celery_publisher
from worker.files.outcomes import from_text
from worker.files.spool import claim_now

UNDATED = "Words without a date line, long enough to be judged on their merits ({})."
FAST = {"INGEST_POLL_INTERVAL_S": "0.2", "INGEST_RESCAN_INTERVAL_S": "1"}


@pytest.fixture(scope="module")
def stack(new_servers: NewServers) -> Iterator[Stack]:
    with shared_root("overwrite") as root:
        running = open_stack(root, *new_servers(), **FAST)
        running.start()
        try:
            yield running
        finally:
            running.stop()


def rows_named(stack: Stack, name: str) -> list[dict[str, object]]:
    return [r for r in stack.finished() if r["name"] == name]


def assert_each_names_its_own_bytes(stack: Stack, rows: list[dict[str, object]]) -> None:
    paths = [from_text(str(r["outcome_path"])) for r in rows]
    assert len(set(paths)) == len(rows), f"two rows share an outcome path: {paths}"
    for row, path in zip(rows, paths, strict=True):
        kept = stack.work / path
        assert kept.is_file(), path
        assert hashlib.sha256(kept.read_bytes()).hexdigest() == row["sha256"], path
        if row["status"] in ("rejected", "failed"):
            sidecar = json.loads((stack.work / "errors" / f"{path}.error.json").read_text())
            assert sidecar["file_id"] == row["id"] and sidecar["sha256"] == row["sha256"]
            assert sidecar["outcome_path"] == row["outcome_path"]


def test_a_file_named_like_a_sidecar_is_kept_with_its_own_sidecar(stack: Stack) -> None:
    """Item 4: `c.txt.error.json` rejected, then `c.txt` rejected: both files and both
    sidecars kept (sidecars under errors/), each sidecar describing its own file."""
    posing = stack.drop("c.txt.error.json", UNDATED.format("posing as a sidecar"))
    posing_bytes = b"" if not posing.exists() else posing.read_bytes()
    wait_for(lambda: rows_named(stack, "c.txt.error.json"), 60, what="the first fate")
    stack.drop("c.txt", UNDATED.format("the real c"))
    wait_for(lambda: rows_named(stack, "c.txt"), 60, what="the second fate")
    rows = rows_named(stack, "c.txt.error.json") + rows_named(stack, "c.txt")
    assert [(r["status"], r["reason"]) for r in rows] == [("rejected", "missing_date")] * 2
    wait_for(lambda: not stack.spool_files(), 40, what="an empty spool")
    rejected = stack.work / "rejected"
    assert (rejected / "c.txt.error.json").read_bytes() == posing_bytes
    assert b"the real c" in (rejected / "c.txt").read_bytes()
    errors = stack.work / "errors" / "rejected"
    mine = json.loads((errors / "c.txt.error.json").read_text())
    theirs = json.loads((errors / "c.txt.error.json.error.json").read_text())
    assert mine["name"] == "c.txt" and theirs["name"] == "c.txt.error.json"
    assert_each_names_its_own_bytes(stack, rows)


def _claim_twice(stack: Stack, name: str, contents: list[str]) -> list[object]:
    """The same relative name dropped and claimed again and again (no watcher runs)."""
    settings = settings_of(stack)
    claims = []
    for content in contents:
        stack.drop(name, content)
        claims.append(claim_now(settings, name))
    return claims


@pytest.mark.parametrize(
    ("fate", "together"), [("stored", "one-batch"), ("rejected", "two-batches")]
)
def test_same_named_files_finishing_together_are_all_kept(
    stack: Stack, fate: str, together: str
) -> None:
    """Item 4: one relative name dropped three times in a row, claimed each time, all
    rejected or all stored, finishing together (in one batch, or in batches running
    at once): all kept (one as <name>, the others as <name>.<claim_id>), the ledger's
    outcome_path of each names its own bytes, each sidecar describes its own file."""
    stack.stop_process("watcher")
    stack.stop_process("worker")
    try:
        name = f"dir/same-{fate}-{together}.txt"
        make = article if fate == "stored" else UNDATED.format
        claims = _claim_twice(stack, name, [make(f"{name} version {i}") for i in range(3)])
        publish = celery_publisher(settings_of(stack))
        if together == "one-batch":
            publish(claims)  # type: ignore[arg-type]
        else:
            for item in claims:
                publish([item])  # type: ignore[list-item]
        stack.start_process("worker", "worker")
        rows = wait_for(
            lambda: r if len(r := rows_named(stack, name)) == 3 else None, 90, what="3 fates"
        )
        assert {r["status"] for r in rows} == {fate}
        wait_for(lambda: not stack.spool_files(), 40, what="an empty spool")
        assert_each_names_its_own_bytes(stack, rows)
        kept = sorted(
            p.name
            for p in (
                stack.work
                / stack.work.joinpath("processed" if fate == "stored" else "rejected", "dir")
            ).iterdir()
            if p.name.startswith(f"same-{fate}-{together}")
        )
        assert len(kept) == 3 and Path(name).name in kept
        assert {r["attempts"] for r in rows} == {1}
    finally:
        if "watcher" not in stack.processes:
            stack.start_process("watcher", "watch")
        if "worker" not in stack.processes:
            stack.start_process("worker", "worker")


@pytest.mark.parametrize("order", ["file-first", "folder-first"])
def test_a_file_and_a_folder_of_the_same_name_are_both_kept(stack: Stack, order: str) -> None:
    """Item 4, a name that is a file once and a folder once (`d`, then `d/x.txt`, or the
    other way round), both rejected: both kept, each at the path its row records; the
    second never waits forever in the spool because the first blocks its path."""
    top = f"clash-{order}"
    names = [top, f"{top}/x.txt"] if order == "file-first" else [f"{top}/x.txt", top]
    for i, name in enumerate(names):
        if (stack.inbox / name).is_dir():
            (stack.inbox / name).rmdir()  # the folder its first file left behind
        stack.drop(name, UNDATED.format(f"{name} {i}"))
        wait_for(lambda n=name: rows_named(stack, n), 60, what=f"the fate of {name}")
    rows = [rows_named(stack, n)[0] for n in names]
    assert [r["status"] for r in rows] == ["rejected", "rejected"]
    wait_for(lambda: not stack.spool_files(), 40, what="an empty spool (no file stuck)")
    assert_each_names_its_own_bytes(stack, rows)
