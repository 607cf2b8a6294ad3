"""Guarantees 4, 5 and 6: files arriving while the watcher is down, files still being
written, and the ways programs put files in place, in events and in polling mode."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.faults.conftest import MakeStack
from tests.faults.helpers import article, assert_exactly_once, drop_many, fates
from tests.support import query, wait_for

pytestmark = pytest.mark.slow

MODES = ["events", "polling"]


def mode_settings(mode: str) -> dict[str, str]:
    return {"INGEST_WATCH_MODE": mode, "INGEST_POLL_INTERVAL_S": "1.0"}


@pytest.mark.parametrize("mode", MODES)
def test_500_files_while_the_watcher_is_down(make_stack: MakeStack, mode: str) -> None:
    stack = make_stack(**mode_settings(mode))
    stack.start(watcher=False)  # the worker runs; nobody watches the inbox
    names = drop_many(stack, 250, "top/") + drop_many(stack, 250, "deep/er/")
    time.sleep(1)
    assert not stack.files(), "nothing can be taken while the watcher is down"
    stack.start_process("watcher", "watch")
    stack.wait_finished(500, timeout=120)
    assert_exactly_once(stack, names)


def write_in_chunks(path: Path, chunks: list[bytes], pause: float) -> None:
    """A slow producer: one open file, written piece by piece, then closed."""
    with open(path, "wb") as handle:
        for chunk in chunks:
            handle.write(chunk)
            handle.flush()
            time.sleep(pause)


def rsync_like(source: Path, target: Path, pause: float) -> None:
    """What rsync does: write `.name.XXXXXX` in the destination folder, then rename."""
    temp = target.with_name(f".{target.name}.Xy12Zq")
    data = source.read_bytes()
    step = len(data) // 4 + 1
    write_in_chunks(temp, [data[i : i + step] for i in range(0, len(data), step)], pause)
    os.rename(temp, target)


@pytest.mark.parametrize("mode", MODES)
def test_files_being_written_are_taken_once_and_whole(
    make_stack: MakeStack, mode: str, tmp_path: Path
) -> None:
    # A short rescan interval: it must not take the slow writer's open file early.
    stack = make_stack(**mode_settings(mode), INGEST_RESCAN_INTERVAL_S="2")
    stack.start()
    outside = tmp_path / "outside"
    outside.mkdir()

    # 1. Written in chunks over ~4 s, pauses of 0.4 s (shorter than a poll interval).
    chunks = [b"date 2021-05-05 A slowly written article.\n\n"]
    chunks += [f"Chunk {i} of the slowly written article body.\n".encode() for i in range(10)]
    slow = threading.Thread(target=write_in_chunks, args=(stack.inbox / "slow.txt", chunks, 0.4))
    slow.start()

    # 2. A large file copied with cp (~8 MB).
    big = outside / "big.txt"
    big.write_bytes(
        b"date 2021-05-06 A large article.\n\n"
        + b"".join(f"Line {i} of a long article body.\n".encode() for i in range(250_000))
    )
    subprocess.run(["cp", str(big), str(stack.inbox / "big.txt")], check=True)

    # 3. rsync: a hidden temporary name written slowly, then renamed (real rsync too, if present).
    (outside / "synced.txt").write_text(article(3, "rsync") * 20)
    synced = threading.Thread(
        target=rsync_like, args=(outside / "synced.txt", stack.inbox / "synced.txt", 0.3)
    )
    synced.start()
    expected = {"slow.txt", "big.txt", "synced.txt"}
    if shutil.which("rsync"):
        (outside / "real-rsync.txt").write_text(article(4, "real rsync"))
        subprocess.run(["rsync", str(outside / "real-rsync.txt"), str(stack.inbox)], check=True)
        expected.add("real-rsync.txt")

    # 4. mv of a file, and of a folder of files, from elsewhere on the same file system.
    (outside / "moved.txt").write_text(article(5, "mv"))
    os.rename(outside / "moved.txt", stack.inbox / "moved.txt")
    folder = outside / "folder"
    folder.mkdir()
    for i in range(5):
        (folder / f"m{i}.txt").write_text(article(10 + i, "mv folder"))
    os.rename(folder, stack.inbox / "folder")
    expected |= {"moved.txt", *(f"folder/m{i}.txt" for i in range(5))}

    # 5. A folder of files copied in (cp -r).
    copied = outside / "copied"
    copied.mkdir()
    for i in range(5):
        (copied / f"c{i}.txt").write_text(article(20 + i, "cp folder"))
    subprocess.run(["cp", "-r", str(copied), str(stack.inbox / "copied")], check=True)
    expected |= {f"copied/c{i}.txt" for i in range(5)}

    # 6. A hard link: a create event and no close ever; only the periodic rescan sees it done.
    (outside / "linked.txt").write_text(article(30, "hard link"))
    os.link(outside / "linked.txt", stack.inbox / "linked.txt")
    expected.add("linked.txt")

    slow.join()
    synced.join()
    stack.wait_finished(len(expected), timeout=90)
    time.sleep(2)  # a second take of anything would show up now
    rows = fates(stack)
    assert sorted(rows) == sorted(expected)
    assert len(stack.files()) == len(expected), "a file was registered twice"
    assert {r["status"] for r in rows.values()} == {"stored"}, {
        n: (r["status"], r["reason"]) for n, r in rows.items()
    }
    # Whole: the ledger hash is the hash of every byte the producer wrote.
    assert rows["slow.txt"]["sha256"] == hashlib.sha256(b"".join(chunks)).hexdigest()
    assert rows["big.txt"]["sha256"] == hashlib.sha256(big.read_bytes()).hexdigest()
    synced_hash = hashlib.sha256((outside / "synced.txt").read_bytes()).hexdigest()
    assert rows["synced.txt"]["sha256"] == synced_hash
    body = query(
        stack.database_url,
        "SELECT d.body FROM documents d JOIN ingest_files f ON f.id = d.file_id "
        "WHERE f.name = 'slow.txt'",
    )[0]["body"]
    assert "Chunk 9 of the slowly written" in body
    assert not stack.spool_files()
    wait_for(lambda: not list(stack.inbox.glob("*.txt")), 10, what="an empty inbox")
