"""Item 9 (M): `ingest up` changes no permission it does not own, shows no password,
and keeps what it writes from other local users.

`ingest up` runs as root from a project folder inside a private (0700) folder,
as a user runs it (no INGEST_* variables): the modes of that folder and of every
folder above it stay as they were; outcome folders, sidecars, logs, Valkey's
files and the runtime file are closed to others. With INGEST_DATABASE_URL
carrying a password, the header shows it as `:**@` and the password appears
nowhere in the output.
"""

from __future__ import annotations

import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import pytest
from psycopg.conninfo import conninfo_to_dict

from tests.e2e.running_up import RunningUp, user_env
from tests.security.attack import article
from tests.security.conftest import NewServers
from tests.support import wait_for
from worker.embedded.postgres import ROOT_HOME, digest

INGEST = Path(sys.executable).with_name("ingest")
UNDATED = "Words without a date line, long enough to be judged on their merits."


def modes_up_to_root(path: Path) -> dict[Path, tuple[int, int, int]]:
    out = {}
    for folder in [path, *path.parents]:
        info = folder.stat()
        out[folder] = (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid)
    return out


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture(scope="module")
def private_project() -> Iterator[Path]:
    outer = Path(tempfile.mkdtemp(prefix="ingest-sec-private-"))
    outer.chmod(0o700)
    project = outer / "project"
    project.mkdir()
    try:
        yield project
    finally:
        shutil.rmtree(outer, ignore_errors=True)
        shutil.rmtree(ROOT_HOME / f"postgres-{digest(project / '.ingest')}", ignore_errors=True)


def test_ingest_up_in_a_private_folder_changes_no_mode_and_closes_its_files(
    private_project: Path,
) -> None:
    """Item 9: `ingest up` as root from a project inside a 0700 folder: that folder's
    and every ancestor's mode and owner unchanged; outcome folders 0700, sidecars and
    logs not readable by others; Valkey's folder 0700, its password, conf and
    append-only files closed to others; `.ingest/runtime.json` and
    `valkey/password` 0600; the broker password never printed."""
    project = private_project
    before = modes_up_to_root(project.parent)
    up = RunningUp(INGEST, project, user_env())
    try:
        up.wait_ready()
        (project / "inbox" / "good.txt").write_text(article("private good"))
        (project / "inbox" / "bad.txt").write_text(UNDATED)
        wait_for(
            lambda: (s := up.status())["files"]["stored"] == 1 and s["files"]["rejected"] == 1,
            60,
            what="one stored and one rejected file",
        )
        data = project / ".ingest"
        files = project / "inbox" / ".ingest"
        wait_for(lambda: (files / "rejected" / "bad.txt").exists(), 40, what="the move")
        sidecar = files / "errors" / "rejected" / "bad.txt.error.json"
        wait_for(sidecar.exists, 40, what="the sidecar")
        for folder in ("processed", "rejected", "spool", "errors", "errors/rejected"):
            assert mode(files / folder) == 0o700, folder
        assert mode(files) == 0o700
        assert mode(sidecar) & 0o007 == 0, oct(mode(sidecar))
        valkey = data / "valkey"
        assert mode(valkey) == 0o700
        assert mode(valkey / "password") == 0o600
        assert mode(valkey / "valkey.conf") == 0o600
        for path in valkey.rglob("*"):
            assert mode(path) & 0o007 == 0, f"{path} is open to others: {oct(mode(path))}"
        assert any("appendonly" in p.name for p in valkey.rglob("*")), "no append-only files"
        assert mode(data / "runtime.json") == 0o600
        assert mode(data) & 0o007 == 0
        assert mode(data / "logs") == 0o700
        for path in (data / "logs").iterdir():
            assert mode(path) & 0o007 == 0, f"{path}: {oct(mode(path))}"
        password = (valkey / "password").read_text().strip()
    finally:
        code, _took = up.stop()
    assert code == 0, up.stderr()[-2000:]
    assert modes_up_to_root(project.parent) == before, "a folder above the project changed"
    assert "Broker:     redis://:**@127.0.0.1" in up.stdout()
    assert password not in up.stdout() + up.stderr()
    assert quote(password, safe="") not in up.stdout() + up.stderr()


def test_a_database_password_is_never_printed(new_servers: NewServers) -> None:
    """Item 9: INGEST_DATABASE_URL with a password: `ingest up`'s header shows `:**@`,
    and the password appears nowhere in its stdout or stderr, `ingest status` or the
    log files."""
    database_url, _broker = new_servers()
    parts = conninfo_to_dict(database_url)
    secret = "S3cret-pw-" + str(time.time_ns())
    url = f"postgresql://postgres:{secret}@/{parts['dbname']}?host={quote(str(parts['host']))}"
    project = Path(tempfile.mkdtemp(prefix="ingest-sec-pw-"))
    try:
        up = RunningUp(INGEST, project, user_env(INGEST_DATABASE_URL=url))
        try:
            header = up.wait_ready()
            status = up.command("status")
            assert "received" in status.stdout
        finally:
            code, _took = up.stop()
        assert code == 0, up.stderr()[-2000:]
        assert header.startswith("postgresql://postgres:**@/"), header
        printed = up.stdout() + up.stderr() + status.stdout + status.stderr
        assert secret not in printed
        logs = [p for p in (project / ".ingest" / "logs").rglob("*") if p.is_file()]
        assert logs and not [p.name for p in logs if secret in p.read_text(errors="replace")]
        assert unquote(urlsplit(url).password or "") == secret
    finally:
        shutil.rmtree(project, ignore_errors=True)
