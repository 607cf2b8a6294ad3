"""Found while testing item 2: a flood of folders must not hide anyone's files.

`nobody` makes 1,500 empty folders in the shared inbox of a watcher that runs,
like a systemd service by default, with 1,024 file descriptors. The scan used
to open every folder it found before entering any: past the limit, every
further folder was skipped without a word, and in polling mode (and at
start-up in events mode) the files in them were never claimed. The walk now
holds one open folder per level (worker/files/scan.py).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.security.attack import article, open_stack, sh_as_nobody, shared_root
from tests.security.conftest import NewServers

FOLDERS = 1500
FAST = {"INGEST_POLL_INTERVAL_S": "0.3", "INGEST_RESCAN_INTERVAL_S": "1"}


@pytest.mark.parametrize("mode", ["events", "polling"])
def test_files_among_thousands_of_folders_are_all_claimed(
    mode: str, new_servers: NewServers
) -> None:
    """Found (item 2's scan): with 1,500 folders planted by nobody and a 1,024
    descriptor limit, files in 20 folders spread among them (and one at the top),
    present at start, are all claimed and stored, in events and polling mode."""
    settings = dict(FAST)
    if mode == "polling":
        settings |= {"INGEST_WATCH_MODE": "polling", "INGEST_POLL_STABLE_S": "0.3"}
    with shared_root(f"flood-{mode}") as root:
        stack = open_stack(root, *new_servers(), **settings)
        sh_as_nobody(f"cd {stack.inbox} && mkdir $(seq -f 'd%05g' 1 {FOLDERS})")
        names = [f"d{1 + i * (FOLDERS // 20):05d}/legit.txt" for i in range(20)] + ["top.txt"]
        for i, name in enumerate(names):
            stack.drop(name, article(f"legit {mode} {i}"))
        stack.start(watcher=False)
        log = open(stack.logs / "watcher.log", "ab")  # noqa: SIM115 - lives with the process
        stack.processes["watcher"] = subprocess.Popen(
            ["prlimit", "--nofile=1024:1024", sys.executable, "-m", "worker", "watch"],
            env=stack.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            rows = stack.wait_finished(len(names), timeout=60)
            assert sorted(r["name"] for r in rows) == sorted(names)
            assert {r["status"] for r in rows} == {"stored"}
            assert stack.processes["watcher"].poll() is None
        finally:
            stack.stop()
