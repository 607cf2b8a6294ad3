"""The watcher's readiness rules in-process, with a list standing in for the broker
(the watcher takes any publish function): fast checks of the edge cases."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import wait_for
from worker.inbox import Claim, pending_claims, spool_path
from worker.settings import Settings
from worker.watch import Watcher

Running = tuple[Settings, list[Claim], Watcher]


@pytest.fixture
def run_watcher(tmp_path: Path) -> Iterator[Callable[..., Running]]:
    holder: list[tuple[Watcher, threading.Event, threading.Thread]] = []

    def start(**values: object) -> Running:
        settings = Settings(inbox=tmp_path / "inbox", broker_url="redis://unused", **values)  # type: ignore[arg-type]
        published: list[Claim] = []
        watcher = Watcher(settings, published.extend)
        stop = threading.Event()
        thread = threading.Thread(target=watcher.run, args=(stop,), daemon=True)
        thread.start()
        assert watcher.ready.wait(10)
        holder.append((watcher, stop, thread))
        return settings, published, watcher

    yield start
    for _watcher, stop, thread in holder:
        stop.set()
        thread.join(10)


def test_rescan_never_takes_a_file_still_open(run_watcher: Callable[..., Running]) -> None:
    # Pauses between writes longer than settle_ms but shorter than the rescan interval:
    # a rescan must not mistake a pause for a missed close.
    settings, published, _ = run_watcher(rescan_interval_s=0.3, settle_ms=50)
    with open(settings.inbox_dir / "slow.txt", "wb") as handle:
        for _ in range(10):
            handle.write(b"x" * 10)
            handle.flush()
            time.sleep(0.2)
            assert not published, "taken while still open"
    wait_for(lambda: published, 10, what="the claim after the close")
    assert [c.name for c in published] == ["slow.txt"]
    assert spool_path(settings.spool_dir, published[0]).stat().st_size == 100


def test_open_file_without_a_close_is_taken_by_the_rescan(
    run_watcher: Callable[..., Running],
) -> None:
    settings, published, _ = run_watcher(rescan_interval_s=0.5, settle_ms=50)
    outside = settings.inbox_dir.parent / "outside.txt"
    outside.write_bytes(b"complete")
    (settings.inbox_dir / "linked.txt").hardlink_to(outside)  # a create event, never a close
    wait_for(lambda: published, 10, what="the rescan to take it")
    assert [c.name for c in published] == ["linked.txt"]


def test_sweep_republishes_only_what_is_left_in_the_spool(
    run_watcher: Callable[..., Running],
) -> None:
    settings, published, watcher = run_watcher(requeue_after_s=0.5, settle_ms=20)
    for name in ("done.txt", "lost.txt"):
        (settings.inbox_dir / name).write_bytes(b"data")
    wait_for(lambda: len(published) == 2, 10, what="two claims")
    done = next(c for c in published if c.name == "done.txt")
    spool_path(settings.spool_dir, done).unlink()  # it reached its fate
    time.sleep(2.2)  # republished after 0.5, then 1.0 s: twice, then next due at 3.5 s
    names = [c.name for c in published]
    assert names.count("done.txt") == 1
    assert names.count("lost.txt") == 3
    assert watcher.requeued == 2
    assert [c.name for c in pending_claims(settings.spool_dir)] == ["lost.txt"]
