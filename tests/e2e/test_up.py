"""`ingest up` as a user runs it: from a project folder, with no INGEST_* variables.

The samples go in, the other commands find the running stack on their own, a
second `ingest up` is refused, a killed worker is restarted, a worker that
cannot start stops `ingest up` with the reason, and a killed `ingest up`
takes its servers with it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.e2e.running_up import RunningUp, user_env
from tests.support import query, server_dir, wait_for

INGEST = Path(sys.executable).with_name("ingest")


@pytest.fixture
def project() -> Iterator[Path]:
    with server_dir("project") as root:
        yield root


def _tree(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def _gone(processes: list[psutil.Process]) -> list[psutil.Process]:
    return [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def _documents(dsn: str) -> list[dict[str, object]]:
    return query(dsn, "SELECT * FROM documents ORDER BY id")


def _celery_main(up: RunningUp) -> psutil.Process:
    for child in psutil.Process(up.process.pid).children():
        if "celery" in " ".join(child.cmdline()):
            return child
    raise AssertionError("no Celery worker under ingest up")


def test_samples_in_status_anywhere_second_up_refused_worker_restarted(
    project: Path, samples: list[Path]
) -> None:
    up = RunningUp(INGEST, project)
    try:
        dsn = up.wait_ready()
        header = up.stdout()
        assert "Broker:     redis://:**@127.0.0.1:" in header  # its password is never printed
        assert f"Log:        {project / '.ingest' / 'logs' / 'ingest.log'}" in header
        started = time.monotonic()
        for path in samples:
            shutil.copy(path, project / "inbox" / path.name)
        docs = wait_for(
            lambda: d if len(d := _documents(dsn)) == 3 else None, timeout=30, what="3 documents"
        )
        elapsed = time.monotonic() - started
        print(f"\nthree samples stored {elapsed:.2f}s after the copy")
        by_date = {str(d["published_on"]): d for d in docs}
        assert set(by_date) == {"2020-11-11", "2022-08-09", "2021-04-30"}
        for path in samples:
            text = path.read_text("utf-8")
            published = text.split()[1]
            assert by_date[published]["body"] == text.strip().split(" ", 2)[2].strip()

        # A second terminal, same folder, no variables: the other commands find the stack.
        status = up.status()
        assert status["files"]["stored"] == 3, status
        assert status["queue"]["error"] is None, status
        # A reader that leaves first (`| head`, here `| true`): no traceback.
        piped = subprocess.run(
            f"{INGEST} status | true",
            shell=True,
            cwd=project,
            env=up.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert "Traceback" not in piped.stderr and "BrokenPipe" not in piped.stderr, piped.stderr
        second = up.command("up", check=False)
        assert second.returncode != 0
        assert f"already running on {project / '.ingest'} (pid {up.process.pid})" in second.stderr

        # The worker killed under it: said on the terminal, restarted, ingestion goes on.
        _celery_main(up).kill()
        wait_for(lambda: "restarting the worker" in up.stderr(), 30, what="the restart message")
        assert "the worker exited (killed by SIGKILL)" in up.stderr()
        shutil.copy(samples[0], project / "inbox" / "after-the-kill.txt")
        row = wait_for(
            lambda: query(
                dsn,
                "SELECT * FROM ingest_files WHERE name = 'after-the-kill.txt' "
                "AND status <> 'processing'",
            ),
            timeout=60,
            what="the file dropped after the kill",
        )[0]
        assert row["status"] == "duplicate"
        assert row["document_id"] == by_date["2020-11-11"]["id"]

        # The terminal is quiet: no per-file or Celery INFO lines; the log file has them.
        assert " INFO " not in up.stderr() + up.stdout()
        log = (project / ".ingest" / "logs" / "ingest.log").read_text()
        assert "after-the-kill.txt" in log and " INFO " in log
        assert "received 4 | stored 3 | duplicate 1" in wait_for(
            lambda: up.stdout() if "duplicate 1" in up.stdout() else None, 15, what="live line"
        )
        tree = _tree(up.process.pid)
    finally:
        code, took = up.stop()
    assert code == 0, up.stderr()[-3000:]
    assert took < 10, f"ingest up took {took:.1f}s to stop"
    time.sleep(0.5)
    assert not _gone(tree), f"processes left behind: {_gone(tree)}"
    assert not (project / ".ingest" / "runtime.json").exists()
    stopped = up.command("status", check=False)
    assert stopped.returncode != 0 and "no `ingest up` is running" in stopped.stderr


def test_a_worker_that_cannot_start_stops_up_with_the_reason(project: Path) -> None:
    # A broken install, as a missing dependency would be: the worker's import fails.
    shadow = project / "shadow"
    shadow.mkdir()
    (shadow / "rensa.py").write_text("raise ImportError('rensa is broken in this test')\n")
    up = RunningUp(INGEST, project, env=user_env(PYTHONPATH=str(shadow)))
    code = up.process.wait(timeout=60)
    assert code != 0
    err = up.stderr()
    assert "the worker could not start" in err, err
    assert "rensa is broken in this test" in err, err
    assert not (project / ".ingest" / "runtime.json").exists()


def test_a_killed_up_takes_its_servers_and_a_new_one_starts(
    project: Path, samples: list[Path]
) -> None:
    up = RunningUp(INGEST, project)
    dsn = up.wait_ready()
    shutil.copy(samples[0], project / "inbox" / samples[0].name)
    wait_for(lambda: len(_documents(dsn)) == 1 or None, 30, what="one document")
    tree = _tree(up.process.pid)
    up.process.kill()
    up.process.wait()
    wait_for(lambda: not _gone(tree), 20, what="every child of the killed ingest up to exit")
    runtime = json.loads((project / ".ingest" / "runtime.json").read_text())
    assert runtime["pid"] == up.process.pid  # left behind, and recognised as stale:
    stale = up.command("status", check=False)
    assert stale.returncode != 0 and "no `ingest up` is running" in stale.stderr

    again = RunningUp(INGEST, project)
    try:
        dsn = again.wait_ready()
        assert len(_documents(dsn)) == 1  # the same data
        shutil.copy(samples[1], project / "inbox" / samples[1].name)
        wait_for(lambda: len(_documents(dsn)) == 2 or None, 30, what="a second document")
    finally:
        code, _took = again.stop()
    assert code == 0, again.stderr()[-3000:]
    assert os.stat(project / ".ingest" / "up.lock").st_mode & 0o077 == 0
