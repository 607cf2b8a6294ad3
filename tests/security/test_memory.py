"""Item 8 (M): memory per file is bounded, and limits have clear reason codes.

A gzip bomb (a small .gz inflating past max_decompressed_bytes; as one member,
as many, and gzip inside gzip) is rejected `too_large` (or
`unsupported_format`) without ever holding the inflated whole; an NDJSON file
with more than max_records_per_file records is rejected `too_many_records`
while it is split. The peak RSS of a worker process over a 5 MiB file with one
emoji (which makes Python hold its text at 4 bytes a character) is measured
and printed, with a generous bound.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.security.attack import article, open_stack, shared_root
from tests.security.conftest import NewServers
from tests.support import Stack, wait_for

MIB = 1024 * 1024
LIMIT = 8 * MIB  # max_decompressed_bytes for this module
RECORDS = 100  # max_records_per_file for this module


def bomb(size: int) -> bytes:
    """A gzip member of `size` zero bytes, compressed as hard as zlib can."""
    out = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b"\0" * MIB
    parts = [out.compress(chunk) for _ in range(size // MIB)]
    return b"".join(parts) + out.flush()


@pytest.fixture(scope="module")
def stack(new_servers: NewServers) -> Iterator[Stack]:
    with shared_root("memory") as root:
        running = open_stack(
            root,
            *new_servers(),
            INGEST_MAX_DECOMPRESSED_BYTES=str(LIMIT),
            INGEST_MAX_RECORDS_PER_FILE=str(RECORDS),
            INGEST_POLL_INTERVAL_S="0.2",
        )
        running.env["INGEST_CONCURRENCY"] = "1"  # one pool process, measured below
        running.start()
        try:
            yield running
        finally:
            running.stop()


def fates(stack: Stack, names: list[str]) -> dict[str, dict[str, object]]:
    wait_for(lambda: {r["name"] for r in stack.finished()} >= set(names), 60, what="fates")
    return {r["name"]: r for r in stack.files() if r["name"] in names}


def test_gzip_bombs_and_record_floods_are_rejected_with_clear_codes(stack: Stack) -> None:
    """Item 8: gzip bombs (one member of 1 GiB of zeros, ~1 MB on disk; a thousand
    members of 64 KiB; a bomb inside gzip) and an NDJSON file one record over the cap
    (and a flood of a million tiny records) get `too_large`, `unsupported_format` or
    `too_many_records`, each with a detail naming the limit."""
    one = bomb(1024 * MIB)
    assert len(one) < 2 * MIB
    member = gzip.compress(b"\0" * 64 * 1024, 9)
    record = json.dumps({"date": "2021-05-04", "body": "a short record body " * 3})
    files = {
        "bomb.txt.gz": one,
        "members.txt.gz": member * 1000,
        "nested.txt.gz": gzip.compress(bomb(64 * MIB), 9),
        "over-cap.ndjson": ((record + "\n") * (RECORDS + 1)).encode(),
        "flood.ndjson": b"{}\n" * 1_000_000,
        "at-cap.ndjson": "\n".join(
            json.dumps({"date": "2021-05-04", "body": f"{article(str(i))}"}) for i in range(RECORDS)
        ).encode(),
    }
    for name, content in files.items():
        stack.drop(name, content)
    rows = fates(stack, list(files))
    got = {name: (row["status"], row["reason"]) for name, row in rows.items()}
    assert got == {
        "bomb.txt.gz": ("rejected", "too_large"),
        "members.txt.gz": ("rejected", "too_large"),
        "nested.txt.gz": ("rejected", "unsupported_format"),
        "over-cap.ndjson": ("rejected", "too_many_records"),
        "flood.ndjson": ("rejected", "too_many_records"),
        "at-cap.ndjson": ("stored", None),
    }
    assert "max_decompressed_bytes" in str(rows["bomb.txt.gz"]["detail"])
    assert f"more than {RECORDS} records" in str(rows["flood.ndjson"]["detail"])
    assert rows["at-cap.ndjson"]["records"] == RECORDS


def _pool_children(stack: Stack) -> list[psutil.Process]:
    return psutil.Process(stack.processes["worker"].pid).children(recursive=True)


def _peak_kib(process: psutil.Process) -> int:
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_peak_memory_for_a_5_mib_file_with_one_emoji(stack: Stack) -> None:
    """Item 8: the worker's pool process peaks at a bounded RSS over a 5 MiB text file
    holding one emoji (printed: peak and growth); bound: 1 GiB of growth."""
    (child,) = _pool_children(stack)
    before = _peak_kib(child)
    paragraph = "The council met again to discuss the harbour and the ferry timetable. "
    body = (paragraph * (5 * MIB // len(paragraph)))[: 5 * MIB - 40]
    content = ("date 2021-05-04\n\n" + body + " \U0001f600\n").encode()
    assert 5 * MIB - 100 < len(content) <= 5 * MIB
    stack.drop("emoji.txt", content)
    (row,) = fates(stack, ["emoji.txt"]).values()
    assert row["status"] in ("stored", "rejected") and row["reason"] != "parser_crashed"
    assert child.is_running() and _pool_children(stack) == [child], "the pool process died"
    after = _peak_kib(child)
    grown = (after - before) / 1024
    print(
        f"\npeak RSS of the pool process: {after / 1024:.0f} MiB "
        f"(before the file: {before / 1024:.0f} MiB, grown by {grown:.0f} MiB) "
        f"for a 5 MiB file with one emoji: {row['status']}"
    )
    assert grown < 1024
