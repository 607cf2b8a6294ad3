"""`ingest up --once` on a folder inbox: what it holds at the start gets its fates, then exit.

Run as a batch job or a CI step runs it: from a project folder, no INGEST_*
variables beyond the one each test is about. A run over samples, an exact copy,
a bad file and a file whose parsing crashes exits 1 and says so in its summary;
the ledger, the inbox and the spool show that every file has its fate; the next
run, over good files only, exits 0. A file its writer keeps open is never taken:
the run ends after the no-progress limit, exit 1, naming it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.e2e.running_up import user_env
from tests.faults.helpers import article
from tests.support import query, server_dir
from worker.cli.once import _look
from worker.embedded import EmbeddedPostgres
from worker.files.spool import claim_now, prepare_folders
from worker.settings import Settings

INGEST = Path(sys.executable).with_name("ingest")
# An HTML page whose stray <math> and <img> before <html> make the extraction
# libraries raise (tests/faults/test_poison.py): with max_attempts 1, `failed` at once.
RAISES = b"<math><img src=x><html><article><p>" + b"A body that is long enough. " * 5 + b"</p>"
UNDATED = b"An article without its date line, long enough to be judged and rejected.\n"
SUMMARY = re.compile(
    r"^once: (\d+) files: (\d+) stored, (\d+) duplicate, (\d+) rejected, (\d+) failed in "
    r"\d+\.\ds$",
    re.MULTILINE,
)


@pytest.fixture
def project() -> Iterator[Path]:
    with server_dir("once") as root:
        (root / "inbox").mkdir()
        yield root


def once(project: Path, **env: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [str(INGEST), "up", "--once"],
            cwd=project,
            env=user_env(**env),
            capture_output=True,
            text=True,
            timeout=150,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        log = project / ".ingest" / "logs" / "ingest.log"
        raise AssertionError(
            f"ingest up --once did not end:\n{exc.stdout!r}\n{exc.stderr!r}\n"
            + (log.read_text()[-4000:] if log.exists() else "")
        ) from None


def summary(result: subprocess.CompletedProcess[str]) -> tuple[int, ...]:
    """(files, stored, duplicate, rejected, failed) from the summary line."""
    found = SUMMARY.findall(result.stdout)
    assert len(found) == 1, result.stdout + result.stderr[-3000:]
    return tuple(int(n) for n in found[0])


def inbox_files(project: Path) -> list[str]:
    inbox = project / "inbox"
    return sorted(
        p.relative_to(inbox).as_posix()
        for p in inbox.rglob("*")
        if p.is_file() and ".ingest" not in p.relative_to(inbox).parts
    )


def ledger(project: Path) -> list[dict[str, Any]]:
    """The ledger of the run's embedded PostgreSQL, started again to read it."""
    postgres = EmbeddedPostgres(project / ".ingest")
    url = postgres.start()
    try:
        return query(url, "SELECT name, status, reason, attempts FROM ingest_files ORDER BY id")
    finally:
        postgres.stop()


def test_once_gives_each_file_its_fate_and_exits_1_when_one_failed(
    project: Path, samples: list[Path]
) -> None:
    inbox = project / "inbox"
    for path in samples:
        shutil.copy(path, inbox / path.name)
    (inbox / "copies").mkdir()
    shutil.copy(samples[0], inbox / "copies" / "again.txt")
    (inbox / "undated.txt").write_bytes(UNDATED)
    (inbox / "poison.html").write_bytes(RAISES)
    before = set(psutil.pids())

    result = once(project, INGEST_MAX_ATTEMPTS="1")

    assert result.returncode == 1, result.stdout + result.stderr[-3000:]
    assert "Once:       6 files waiting at the start" in result.stdout
    assert summary(result) == (6, 3, 1, 1, 1)
    assert inbox_files(project) == []
    work = inbox / ".ingest"
    assert not any((work / "spool").iterdir())
    outcomes = {
        p.relative_to(work).as_posix(): p.read_bytes()
        for p in work.rglob("*")
        if p.is_file() and p.relative_to(work).parts[0] != "errors"
    }
    # One of the two equal files is stored, the other is its duplicate.
    stored = sorted(name for name in outcomes if name.startswith("processed/"))
    (copy,) = [name for name in outcomes if name.startswith("duplicates/")]
    assert len(stored) == 3 and outcomes[copy] == samples[0].read_bytes()
    assert sorted(n.split("/", 1)[1] for n in [*stored, copy]) == sorted(
        [*(p.name for p in samples), "copies/again.txt"]
    )
    assert outcomes["rejected/undated.txt"] == UNDATED
    assert (work / "failed" / "poison.html").read_bytes() == RAISES
    assert (work / "errors" / "failed" / "poison.html.error.json").is_file()
    assert not (project / ".ingest" / "runtime.json").exists()
    time.sleep(0.5)
    left = [p for p in psutil.pids() if p not in before and _ours(p, project)]
    assert not left, f"processes left behind: {left}"

    rows = ledger(project)
    assert [r for r in rows if r["status"] == "processing"] == []
    fates = {r["name"]: (r["status"], r["reason"]) for r in rows}
    assert fates["poison.html"] == ("failed", "parser_crashed")
    assert fates["undated.txt"][0] == "rejected"
    assert {fates["copies/again.txt"], fates[samples[0].name]} == {
        ("stored", None),
        ("duplicate", None),
    }

    # The next run finds its files, and only those: none failed, exit 0.
    for i in range(2):
        (inbox / f"next{i}.txt").write_text(article(i, "the next run"))
    again = once(project)
    assert again.returncode == 0, again.stdout + again.stderr[-3000:]
    assert summary(again) == (2, 2, 0, 0, 0)
    assert inbox_files(project) == []


def _ours(pid: int, project: Path) -> bool:
    """A live process started from the project folder (a child of `ingest up`)."""
    try:
        process = psutil.Process(pid)
        alive = process.status() != psutil.STATUS_ZOMBIE
        return bool(alive and process.cwd() == str(project))
    except psutil.Error:
        return False


def test_a_file_its_writer_keeps_open_ends_the_run_after_the_no_progress_limit(
    project: Path, samples: list[Path], database_url: str, broker_url: str
) -> None:
    inbox = project / "inbox"
    shutil.copy(samples[0], inbox / "ready.txt")
    with open(inbox / "held.txt", "wb") as held:
        held.write(article(1, "held open").encode())
        held.flush()  # complete-looking, but its writer never closes it during the run
        started = time.monotonic()
        result = once(
            project,
            INGEST_DATABASE_URL=database_url,
            INGEST_BROKER_URL=broker_url,
            INGEST_REQUEUE_AFTER_S="2",
            INGEST_TASK_TIME_LIMIT_S="12",
        )
        took = time.monotonic() - started
    assert result.returncode == 1, result.stdout + result.stderr[-3000:]
    assert summary(result) == (1, 1, 0, 0, 0)
    assert (
        "once: no progress for 14s: 1 of the 2 files of the start have no fate yet (held.txt)"
        in result.stderr
    ), result.stderr[-3000:]
    assert took >= 14
    assert inbox_files(project) == ["held.txt"]  # left for the next run
    rows = query(database_url, "SELECT name, status FROM ingest_files")
    assert rows == [{"name": "ready.txt", "status": "stored"}]


def test_with_markers_required_only_marked_files_are_waited_for(tmp_path: Path) -> None:
    # What the watcher would never take is not in the start set: the run would never end.
    settings = Settings(inbox=str(tmp_path / "inbox"), completion_marker="required")
    prepare_folders(settings)
    for name in ("a.txt", "a.txt.done", "b.txt", "f/_SUCCESS", "f/g/c.txt", "fx/d.txt"):
        path = settings.inbox_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(article(1))
    start = _look(settings, start=True)
    assert sorted(start.values()) == ["a.txt", "f/g/c.txt"]
    # Later looks see every entry: a start item is done when it is gone from inbox and spool.
    assert len(_look(settings, start=False)) == 6
    claim_now(settings, "a.txt")  # in the spool now (same inode, same name): not done yet
    assert set(start) <= set(_look(settings, start=False))
    # Another file under the same name (a producer's temporary name, then a rename): new.
    folder = settings.inbox_dir / "f" / "g"
    (folder / ".c.txt.tmp").write_text(article(2))
    os.rename(folder / ".c.txt.tmp", folder / "c.txt")
    assert set(start) - set(_look(settings, start=False)) == {k for k in start if "c.txt" in k}
