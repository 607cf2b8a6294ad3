"""The supervisor of `ingest up` with real child processes (small Python programs)."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest

from worker.cli.supervise import Child, ChildFailed, Supervisor

READY_THEN = """
import os, pathlib, sys, time
pathlib.Path(os.environ["INGEST_READY_FILE"]).touch()
time.sleep(float(sys.argv[1]))
print("going down now", file=sys.stderr, flush=True)
sys.exit(3)
"""


def _child(tmp_path: Path, name: str, code: str, *args: str, said: list[str]) -> Child:
    return Child(
        name,
        [sys.executable, "-c", code, *args],
        dict(os.environ),
        tmp_path / f"{name}.out",
        tmp_path / f".{name}.ready",
        lambda child, line: said.append(f"[{child}] {line}"),
        grace_s=2,
    )


def test_a_child_that_cannot_start_fails_with_its_last_lines(tmp_path: Path) -> None:
    said: list[str] = []
    broken = _child(
        tmp_path,
        "worker",
        "import sys; print('ImportError: no numpy', file=sys.stderr); sys.exit(1)",
        said=said,
    )
    supervisor = Supervisor([broken], said.append)
    started = time.monotonic()
    with pytest.raises(ChildFailed) as failed:
        supervisor.start(threading.Event(), timeout=30)
    assert time.monotonic() - started < 5
    assert "the worker could not start (exit code 1)" in str(failed.value)
    assert "ImportError: no numpy" in str(failed.value)


def test_a_dead_child_is_restarted_and_a_crash_loop_ends_it(tmp_path: Path) -> None:
    said: list[str] = []
    flaky = _child(tmp_path, "watcher", READY_THEN, "0.3", said=said)
    supervisor = Supervisor([flaky], said.append, backoff_s=(0.1, 0.2), max_crashes=3, stable_s=30)
    supervisor.start(threading.Event(), timeout=30)
    assert flaky.ready
    with pytest.raises(ChildFailed) as failed:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            supervisor.tick()
            time.sleep(0.05)
    assert "the watcher exited (exit code 3)" in str(failed.value)
    assert "3 times in a row" in str(failed.value)
    assert "going down now" in str(failed.value)
    restarts = [line for line in said if line.startswith("the watcher exited")]
    assert len(restarts) == 2, said
    assert said.count("restarting the watcher") == 2
    supervisor.stop()


def test_a_child_that_stays_up_is_healthy_again(tmp_path: Path) -> None:
    said: list[str] = []
    steady = _child(tmp_path, "worker", READY_THEN, "0.6", said=said)
    supervisor = Supervisor([steady], said.append, backoff_s=(0.1,), max_crashes=2, stable_s=0.4)
    supervisor.start(threading.Event(), timeout=30)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        supervisor.tick()  # each run outlives stable_s: never a crash loop
        time.sleep(0.05)
    assert said.count("restarting the worker") >= 3
    supervisor.stop()
    assert steady.process is not None and steady.process.poll() is not None
