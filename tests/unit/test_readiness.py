"""Readiness with a hand-driven clock and stat: no threads, no sleeps."""

from __future__ import annotations

from worker.files.spool import Snapshot
from worker.watcher.readiness import Readiness


class World:
    """Files as (size, mtime) per path, and a clock that moves when told."""

    def __init__(self) -> None:
        self.now = 100.0
        self.files: dict[str, Snapshot] = {}

    def write(self, path: str, size: int, *, regular: bool = True) -> None:
        old = self.files.get(path)
        ino = old.ino if old else len(self.files) + 1
        self.files[path] = Snapshot(ino, size, int(self.now * 1e9), regular)

    def stat(self, path: str) -> Snapshot | None:
        return self.files.get(path)

    def clock(self) -> float:
        return self.now

    def readiness(self, *, closes: bool = True, require_marker: bool = False) -> Readiness:
        return Readiness(
            self.stat,
            settle_s=0.1,
            unknown_s=1.0,
            quiet_s=30.0,
            reports_closes=closes,
            require_marker=require_marker,
            clock=self.clock,
        )


def ready(r: Readiness) -> list[str]:
    return [path for path, _snap in r.take_due()]


def test_closed_file_is_ready_after_settling() -> None:
    w = World()
    r = w.readiness()
    w.write("a.txt", 10)
    r.closed("a.txt")
    w.now += 0.05
    assert ready(r) == []
    w.now += 0.06
    assert ready(r) == ["a.txt"]
    assert len(r) == 0


def test_written_again_while_settling_waits_longer() -> None:
    w = World()
    r = w.readiness()
    w.write("a.txt", 10)
    r.closed("a.txt")
    w.now += 0.05
    w.write("a.txt", 20)
    w.now += 0.06
    assert ready(r) == []  # changed: rescheduled one more settle
    w.now += 0.1
    assert ready(r) == ["a.txt"]


def test_created_without_close_waits_for_the_close() -> None:
    w = World()
    r = w.readiness()
    w.write("slow.txt", 5)
    r.changed("slow.txt")
    w.now += 10
    assert ready(r) == []
    w.write("slow.txt", 50)
    r.closed("slow.txt")
    w.now += 0.2
    assert ready(r) == ["slow.txt"]


def test_found_by_a_scan_needs_two_agreeing_looks() -> None:
    w = World()
    r = w.readiness()
    w.write("old.txt", 7)
    r.found("old.txt")
    w.now += 0.5
    assert ready(r) == []
    w.now += 0.6
    assert ready(r) == ["old.txt"]


def test_open_and_quiet_for_a_whole_rescan_is_taken() -> None:
    w = World()
    r = w.readiness()
    w.write("lost-close.txt", 9)
    r.changed("lost-close.txt")
    w.now += 29
    r.found("lost-close.txt")
    assert r.next_due() is None  # not quiet long enough yet
    w.now += 2
    r.found("lost-close.txt")
    w.now += 0.2
    assert ready(r) == ["lost-close.txt"]


def test_polling_takes_a_file_once_two_looks_agree() -> None:
    w = World()
    r = w.readiness(closes=False)
    w.write("nfs.txt", 1)
    r.changed("nfs.txt")
    w.now += 1.1
    w.write("nfs.txt", 2)
    assert ready(r) == []
    w.now += 1.1
    assert ready(r) == ["nfs.txt"]


def test_busy_file_waits_for_its_close() -> None:
    w = World()
    r = w.readiness()
    w.write("held.txt", 3)
    r.found("held.txt")
    w.now += 1.1
    assert ready(r) == ["held.txt"]
    r.busy("held.txt")  # the claim found a writer holding it
    w.now += 100
    assert ready(r) == []
    r.closed("held.txt")
    w.now += 0.2
    assert ready(r) == ["held.txt"]


def test_gone_and_vanished_files_are_dropped() -> None:
    w = World()
    r = w.readiness()
    w.write("a.txt", 1)
    w.write("b.txt", 1)
    r.closed("a.txt")
    r.closed("b.txt")
    r.gone("a.txt")
    del w.files["b.txt"]
    w.now += 1
    assert ready(r) == []
    assert len(r) == 0


def test_links_and_pipes_are_taken_as_they_are() -> None:
    w = World()
    r = w.readiness()
    w.write("link.txt", 0, regular=False)
    r.changed("link.txt")
    w.now += 0.2
    assert ready(r) == ["link.txt"]


def test_required_marker_holds_unmarked_files() -> None:
    w = World()
    r = w.readiness(require_marker=True)
    w.write("a.txt", 4)
    w.write("b.txt", 4)
    r.closed("a.txt")
    r.closed("b.txt")
    w.now += 0.2
    assert ready(r) == []
    r.marked("b.txt")
    w.now += 0.2
    assert ready(r) == ["b.txt"]
    r.marked("a.txt")
    w.now += 0.2
    assert ready(r) == ["a.txt"]
