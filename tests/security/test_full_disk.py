"""Item 5 (M): a full disk loses nothing and leaves nothing half done.

The inbox and the files folder live on a small tmpfs (they must share a file
system) that the test fills for real. The watcher stops claiming while free
space is under `min_free_mb`, and says so (its log, `ingest status`). A file
whose sidecar cannot be written stays in the spool with its fate committed,
no temporary file left behind; when space comes back, the next delivery (here:
the watcher's restart, which publishes the spool again) moves it with its
sidecar rebuilt from the ledger.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.security.attack import article, ingest, open_stack, shared_root
from tests.security.conftest import NewServers
from tests.support import Stack, wait_for
from worker.files.outcomes import from_text

SIZE = "4m"
FAST = {"INGEST_POLL_INTERVAL_S": "0.2", "INGEST_RESCAN_INTERVAL_S": "1"}
UNDATED = "Words without a date line, long enough to be judged on their merits: {}."


@pytest.fixture(scope="module")
def disk() -> Iterator[Path]:
    with shared_root("disk") as root:
        mount = root / "disk"
        mount.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={SIZE},mode=0711", "tmpfs", str(mount)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, f"this test needs a tmpfs mount: {done.stderr}"
        try:
            yield mount
        finally:
            if subprocess.run(["umount", str(mount)], check=False).returncode != 0:
                subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture(scope="module")
def stack(disk: Path, new_servers: NewServers) -> Iterator[Stack]:
    running = open_stack(disk.parent, *new_servers(), INGEST_MIN_FREE_MB="1", **FAST)
    running.inbox = disk / "inbox"
    running.inbox.mkdir()
    running.work = running.inbox / ".ingest"
    running.env["INGEST_INBOX"] = str(running.inbox)
    try:
        yield running
    finally:
        running.stop()


def fill(disk: Path, leave: int = 0) -> Path:
    """Fill the file system; then give `leave` bytes back."""
    filler = disk / "filler"
    with open(filler, "ab") as out:
        chunk = b"\0" * 65536
        with contextlib.suppress(OSError):
            while True:
                out.write(chunk)
                out.flush()
    with contextlib.suppress(OSError):
        os.truncate(filler, max(0, filler.stat().st_size - leave))
    info = os.statvfs(disk)
    assert info.f_bavail * info.f_frsize <= leave + 65536
    return filler


def test_the_watcher_stops_claiming_on_a_nearly_full_disk_and_says_so(
    stack: Stack, disk: Path
) -> None:
    """Item 5: while free space is under min_free_mb (1 MiB of a real, nearly full
    tmpfs), the watcher claims nothing, its log says why and `ingest status` shows
    `holding_back`; with space back it resumes on its own and the file is stored."""
    stack.start()
    wait_for(lambda: "watching" in stack.log("watcher"), 60, what="the watcher")
    filler = fill(disk, leave=256 * 1024)
    stack.drop("waits.txt", article("waits for space"))
    wait_for(lambda: "claiming paused" in stack.log("watcher"), 40, what="a pause")
    assert "min_free_mb" in stack.log("watcher")
    status = json.loads(ingest(stack, "status", "--json").stdout)
    assert status["holding_back"] and "min_free_mb" in status["holding_back"]
    assert "holding" in ingest(stack, "status").stdout
    assert (stack.inbox / "waits.txt").exists() and not stack.files()
    filler.unlink()
    (row,) = stack.wait_finished(1, timeout=60)
    assert row["status"] == "stored"
    assert "claiming resumed" in stack.log("watcher")


def test_a_sidecar_that_cannot_be_written_leaves_the_file_in_the_spool(
    stack: Stack, disk: Path
) -> None:
    """Item 5: a rejected file claimed before the disk filled up: its fate is committed
    but its sidecar cannot be written, so it stays in the spool, no temporary file
    left; a stored file of the same batch moves anyway. With space back, the next
    delivery moves it with its sidecar rebuilt from the ledger."""
    stack.stop_process("worker")
    stack.drop("bad.txt", UNDATED.format("rejected on a full disk"))
    stack.drop("good.txt", article("stored on a full disk"))
    wait_for(lambda: len(stack.spool_files()) == 2, 60, what="both claimed")
    filler = fill(disk)
    stack.start_process("worker", "worker")
    rows = {r["name"]: r for r in stack.wait_finished(3, timeout=60)}
    bad = rows["bad.txt"]
    assert (bad["status"], bad["reason"], bad["attempts"]) == ("rejected", "missing_date", 1)
    assert bad["outcome_path"] == "rejected/bad.txt"
    wait_for(lambda: "waits in the spool" in stack.log("worker"), 40, what="the log line")
    assert rows["good.txt"]["status"] == "stored"
    wait_for(lambda: (stack.work / "processed" / "good.txt").exists(), 40, what="good moved")
    assert [p.name.split(".", 1)[1] for p in stack.spool_files()] == ["bad.txt"]
    assert not (stack.work / "rejected" / "bad.txt").exists()
    pending = stack.work / "errors" / ".pending"
    left = [p.name for p in pending.iterdir()] if pending.exists() else []
    assert not [n for n in left if n.endswith(".tmp")], f"temporary files left: {left}"
    assert stack.processes["worker"].poll() is None

    filler.unlink()
    stack.stop_process("watcher")
    stack.start_process("watcher", "watch")  # publishes what the spool holds
    kept = stack.work / from_text(bad["outcome_path"])
    wait_for(lambda: kept.exists(), 60, what="the file moved once space came back")
    sidecar = stack.work / "errors" / "rejected" / "bad.txt.error.json"
    wait_for(lambda: sidecar.exists(), 40, what="its sidecar")
    written = json.loads(sidecar.read_text())
    assert (written["file_id"], written["reason"]) == (bad["id"], "missing_date")
    assert written["detail"] == bad["detail"] and written["sha256"] == bad["sha256"]
    assert not stack.spool_files()
    assert not pending.exists() or not list(pending.iterdir())
    assert [r["attempts"] for r in stack.files()] == [1, 1, 1]
