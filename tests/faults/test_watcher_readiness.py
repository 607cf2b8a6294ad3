"""The folder watcher in-process on a real inbox, with a list standing in for the broker.

The rules themselves are tested without threads or sleeps in tests/unit
(test_readiness.py, test_sweep.py); here the real watcher meets real writers:
one still writing (a read lease tells), one whose close event never comes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import pending, spool_entry, wait_for
from worker.files.claims import Claim
from worker.files.spool import prepare_folders
from worker.settings import Settings
from worker.watcher.folder import FolderWatcher

Running = tuple[Settings, list[Claim], FolderWatcher]


@pytest.fixture
def run_watcher(tmp_path: Path) -> Iterator[Callable[..., Running]]:
    holder: list[tuple[threading.Event, threading.Thread]] = []

    def start(**values: object) -> Running:
        settings = Settings(inbox=tmp_path / "inbox", broker_url="redis://unused", **values)  # type: ignore[arg-type]
        prepare_folders(settings)
        published: list[Claim] = []
        watcher = FolderWatcher(settings, published.extend)
        stop = threading.Event()
        thread = threading.Thread(target=watcher.run, args=(stop,), daemon=True)
        thread.start()
        assert watcher.ready.wait(10)
        holder.append((stop, thread))
        return settings, published, watcher

    yield start
    for stop, thread in holder:
        stop.set()
        thread.join(10)


def test_a_file_still_open_for_writing_is_never_taken(
    run_watcher: Callable[..., Running], tmp_path: Path
) -> None:
    # Written before the watcher starts, so the start-up scan finds it with no event
    # history; pauses between writes are longer than any settle time.
    inbox = tmp_path / "inbox"
    inbox.mkdir(parents=True)
    handle = open(inbox / "slow.txt", "wb")  # noqa: SIM115 - held open across the watcher's start
    handle.write(b"x" * 10)
    handle.flush()
    settings, published, _ = run_watcher(rescan_interval_s=0.3, settle_ms=50, poll_interval_s=0.2)
    with handle:
        for _ in range(8):
            time.sleep(0.25)
            assert not published, "taken while still open"
            handle.write(b"x" * 10)
            handle.flush()
    wait_for(lambda: published, 10, what="the claim after the close")
    assert [c.name for c in published] == ["slow.txt"]
    assert spool_entry(settings.spool_dir, published[0]).stat().st_size == 90


def test_open_file_without_a_close_is_taken_by_the_rescan(
    run_watcher: Callable[..., Running],
) -> None:
    settings, published, _ = run_watcher(rescan_interval_s=0.5, settle_ms=50)
    outside = settings.inbox_dir.parent / "outside.txt"
    outside.write_bytes(b"complete")
    (settings.inbox_dir / "linked.txt").hardlink_to(outside)  # a create event, never a close
    wait_for(lambda: published, 10, what="the rescan to take it")
    assert [c.name for c in published] == ["linked.txt"]
    assert [c.name for c in pending(settings.spool_dir)] == ["linked.txt"]
