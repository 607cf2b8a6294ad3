"""Guarantee 8: unreadable files, and files deleted or replaced between claim and
processing, get a recorded fate and crash nothing.

Determinism: the watcher claims the files while no worker runs; the test then
changes the claimed files in the spool, the very window between claim and
processing, and only then starts the worker. The suite runs as root, for whom
mode 000 blocks nothing: that worker runs without CAP_DAC_OVERRIDE and
CAP_DAC_READ_SEARCH (setpriv), so the permission check is the kernel's, for real.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from tests.faults.conftest import MakeStack, RestartablePostgres
from tests.faults.helpers import (
    article,
    fates,
    spool_claims,
    start_worker_without_dac_override,
)
from tests.support import sidecar_of, wait_for

pytestmark = pytest.mark.slow

NAMES = ["ok.txt", "perm.txt", "vanished.txt", "fifo.txt", "dir.txt", "link.txt", "replaced.txt"]


def test_unreadable_vanished_and_replaced_files(
    make_stack: MakeStack, pg: RestartablePostgres
) -> None:
    assert shutil.which("setpriv"), "setpriv (util-linux) is needed to drop root's read bypass"
    stack = make_stack()
    stack.start(worker=False)
    for i, name in enumerate(NAMES):
        stack.drop(name, article(i, "unreadable"))
    wait_for(lambda: len(stack.spool_files()) == len(NAMES), 30, what="all claimed")
    claimed: dict[str, Path] = spool_claims(stack)

    claimed["perm.txt"].chmod(0)
    claimed["vanished.txt"].unlink()
    claimed["fifo.txt"].unlink()
    os.mkfifo(claimed["fifo.txt"])
    claimed["dir.txt"].unlink()
    claimed["dir.txt"].mkdir()
    claimed["link.txt"].unlink()
    claimed["link.txt"].symlink_to("/etc/hostname")
    new_content = article(100, "replaced after the claim").encode()
    temp = claimed["replaced.txt"].with_name(".replacement")
    temp.write_bytes(new_content)
    os.replace(temp, claimed["replaced.txt"])

    pg.open_socket_to_everyone()
    worker = start_worker_without_dac_override(stack)
    stack.wait_finished(len(NAMES), timeout=60)
    got = {name: (row["status"], row["reason"]) for name, row in fates(stack).items()}
    assert got == {
        "ok.txt": ("stored", None),
        "perm.txt": ("rejected", "unreadable"),
        "vanished.txt": ("failed", "file_vanished"),
        "fifo.txt": ("rejected", "not_a_file"),
        "dir.txt": ("rejected", "not_a_file"),
        "link.txt": ("rejected", "symlink"),
        "replaced.txt": ("stored", None),  # what was there when it was read
    }
    replaced = fates(stack)["replaced.txt"]
    assert replaced["sha256"] == hashlib.sha256(new_content).hexdigest()
    assert "Permission denied" in fates(stack)["perm.txt"]["detail"]
    rejected = stack.work / "rejected"
    for name in ("perm.txt", "fifo.txt", "dir.txt", "link.txt"):
        assert sidecar_of(stack.work, rejected / name).is_file(), name
    assert not stack.spool_files()
    assert worker.poll() is None, "the worker crashed"
