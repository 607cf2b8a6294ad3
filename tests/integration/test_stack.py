"""The real watcher and Celery worker, as separate processes, over real servers."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from tests.support import Stack, wait_for


def test_samples_flow_through_watcher_and_worker(stack: Stack, samples: list[Path]) -> None:
    stack.start()
    for path in samples:
        shutil.copy(path, stack.inbox / path.name)
    files = stack.wait_finished(3)
    assert [f["status"] for f in files] == ["stored"] * 3
    assert sorted(str(d["published_on"]) for d in stack.documents()) == [
        "2020-11-11",
        "2021-04-30",
        "2022-08-09",
    ]
    wait_for(lambda: not stack.spool_files(), what="empty spool")


def test_junk_names_are_ignored_and_odd_names_survive(stack: Stack, samples: list[Path]) -> None:
    stack.start()
    data = samples[0].read_bytes()
    for junk in (".hidden.txt", "x.part", "y.tmp", "z.swp", "backup~", ".DS_Store", "Thumbs.db"):
        (stack.inbox / junk).write_bytes(data)
    odd = ["with space.txt", "ünïcødé.txt", "quote'\"s.txt", "-leading-dash.txt", "sub/dir/n.txt"]
    for i, name in enumerate(odd):
        stack.drop(name, data + f"\n\nvariant {i}".encode())
    files = stack.wait_finished(len(odd))
    assert sorted(f["name"] for f in files) == sorted(odd)
    assert {f["status"] for f in files} == {"stored"}
    # junk stays where it is, untouched
    assert (stack.inbox / "x.part").exists() and (stack.inbox / ".hidden.txt").exists()
    assert len(stack.files()) == len(odd)


def test_files_present_before_start_and_claimed_leftovers_are_taken(
    stack: Stack, samples: list[Path]
) -> None:
    # Dropped while nothing runs, plus a claim left in the spool by a crashed watcher.
    shutil.copy(samples[0], stack.inbox / "early.txt")
    leftover = stack.work / "spool" / "18e0000000000001-deadbeef.left.txt"
    leftover.parent.mkdir(parents=True)
    shutil.copy(samples[1], leftover)
    stack.start()
    files = stack.wait_finished(2)
    assert sorted(f["name"] for f in files) == ["early.txt", "left.txt"]
    assert {f["status"] for f in files} == {"stored"}


def test_folders_created_removed_and_recreated_are_watched(
    stack: Stack, samples: list[Path]
) -> None:
    stack.start()
    stack.drop("batch/one.txt", samples[0].read_bytes())
    stack.wait_finished(1)
    shutil.rmtree(stack.inbox / "batch")
    time.sleep(0.5)
    stack.drop("batch/two.txt", samples[1].read_bytes())  # a new folder of the same name
    files = stack.wait_finished(2, timeout=10)  # well before the 30 s rescan
    assert [f["name"] for f in files] == ["batch/one.txt", "batch/two.txt"]
