"""The newcomer's path: a clean venv with `pip install .` and nothing else, then `ingest up`.

Exactly what the Dockerfile installs (minus Flower): every module under
worker/ must import from the declared dependencies alone, and the README's
sample session must work with no INGEST_* variable set. The venv and the
project live in private temp folders, so as root this also covers the case of
a checkout other users cannot enter (the embedded PostgreSQL then keeps its
binaries and data under /var/lib/inbox-ingest).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.running_up import RunningUp, user_env
from tests.support import wait_for
from worker.embedded.postgres import ROOT_HOME, digest

ROOT = Path(__file__).resolve().parents[2]
NOT_IN_A_CLONE = (".git", ".venv", "build", "*.egg-info", ".ingest", "__pycache__", "inbox")

IMPORT_EVERYTHING = """
import importlib, pkgutil, worker
names = [m.name for m in pkgutil.walk_packages(worker.__path__, "worker.")]
for name in names:
    if not name.endswith("__main__"):
        importlib.import_module(name)
print(len(names))
"""


@pytest.fixture(scope="module")
def clean_venv() -> Iterator[Path]:
    base = Path(tempfile.mkdtemp(prefix="ingest-newcomer-"))
    venv = base / "venv"
    try:
        # A copy of the project as a clone has it: no build output, venv or state of ours.
        project = base / "checkout"
        shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns(*NOT_IN_A_CLONE))
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        install = subprocess.run(
            [str(venv / "bin" / "pip"), "install", "--disable-pip-version-check", str(project)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
        yield venv
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_every_module_imports_from_the_declared_dependencies(clean_venv: Path) -> None:
    python = str(clean_venv / "bin" / "python")
    result = subprocess.run(
        [python, "-c", IMPORT_EVERYTHING],
        capture_output=True,
        text=True,
        check=False,
        cwd=tempfile.gettempdir(),  # not the checkout: only the installed package counts
        env=user_env(),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert int(result.stdout.strip()) > 20
    extras = subprocess.run(
        [python, "-c", "import pytest"], capture_output=True, check=False, env=user_env()
    )
    assert extras.returncode != 0, "the clean venv must not have the test extras"


def test_the_readme_session_in_a_clean_venv(clean_venv: Path) -> None:
    project = Path(tempfile.mkdtemp(prefix="ingest-project-"))
    up = RunningUp(clean_venv / "bin" / "ingest", project)
    try:
        up.wait_ready()
        started = time.monotonic()
        for sample in sorted((ROOT / "samples").glob("*.txt")):
            shutil.copy(sample, project / "inbox" / sample.name)
        status = wait_for(
            lambda: s if (s := up.status())["files"]["stored"] == 3 else None,
            timeout=30,
            what="three stored samples in `ingest status --json`",
        )
        print(f"\nnewcomer: three samples stored within {time.monotonic() - started:.2f}s")
        assert status["received"] == 3
        assert status["files"]["rejected"] == status["files"]["failed"] == 0
        code, took = up.stop()
        assert code == 0, up.stderr()[-3000:]
        assert took < 10
    finally:
        if up.process.poll() is None:
            up.process.kill()
        shutil.rmtree(project, ignore_errors=True)
        shutil.rmtree(ROOT_HOME / f"postgres-{digest(project / '.ingest')}", ignore_errors=True)
