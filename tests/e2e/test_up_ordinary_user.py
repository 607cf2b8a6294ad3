"""`ingest up` as an ordinary user (`nobody`), with nothing installed beyond pip.

The machine's own Python lives under /root, which other users cannot enter,
so the test gives `nobody` a venv made from Debian's /usr/bin/python3.11 that
sees the packages this suite runs with. Folders on the way to them are made
traversable for the length of the test if they are not already.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sysconfig
import time
from collections.abc import Iterator
from pathlib import Path

import psutil

from tests.support import ingest_env, query, wait_for

USER = "nobody"
BASE_PYTHON = Path("/usr/bin/python3.11")
ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def traversable(paths: list[Path]) -> Iterator[None]:
    """Add o+x on every ancestor that lacks it; put the modes back afterwards."""
    changed: dict[Path, int] = {}
    for path in paths:
        for folder in [path, *path.parents]:
            mode = folder.stat().st_mode
            if folder not in changed and not mode & stat.S_IXOTH:
                changed[folder] = mode
                folder.chmod(stat.S_IMODE(mode) | stat.S_IXOTH | stat.S_IROTH)
    try:
        yield
    finally:
        for folder, mode in changed.items():
            folder.chmod(stat.S_IMODE(mode))


def user_venv(tmp: Path) -> Path:
    assert BASE_PYTHON.exists(), f"{BASE_PYTHON} is needed to run as an ordinary user"
    venv = tmp / "uvenv"
    subprocess.run([str(BASE_PYTHON), "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    ours = sysconfig.get_paths()["purelib"]
    (site / "ingest_suite.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    return venv / "bin" / "python"


def test_ingest_up_as_an_ordinary_user(tmp_path_factory: object, samples: list[Path]) -> None:
    base = Path(os.environ.get("TMPDIR", "/tmp")) / f"ingest-user-{os.getpid()}"
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(mode=0o755)
    user = pwd.getpwnam(USER)
    try:
        python = user_venv(base)
        home = base / "home"
        home.mkdir()
        os.chown(home, user.pw_uid, user.pw_gid)
        env = ingest_env(
            INGEST_INBOX=str(home / "inbox"),
            INGEST_DATA_DIR=str(home / "data"),
            HOME=str(home),
            XDG_RUNTIME_DIR=str(home / "run"),
            TMPDIR=str(home),
        )
        purelib = Path(sysconfig.get_paths()["purelib"])
        with traversable([purelib, ROOT, base]):
            as_user = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
            check = subprocess.run(
                [str(python), "-c", "import worker.cli"],
                **as_user,  # type: ignore[arg-type]
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            assert check.returncode == 0, check.stderr
            out_path = home / "up.out"
            with open(out_path, "wb") as out, open(home / "up.err", "wb") as err:
                up = subprocess.Popen(  # no runuser: it would turn SIGTERM into a kill
                    [str(python), "-m", "worker", "up"],
                    **as_user,  # type: ignore[arg-type]
                    env=env,
                    stdout=out,
                    stderr=err,
                    cwd=home,
                )
            try:
                dsn = wait_for(
                    lambda: next(
                        (
                            line.split(": ", 1)[1]
                            for line in out_path.read_text().splitlines()
                            if line.startswith("PostgreSQL: ")
                        ),
                        None,
                    ),
                    timeout=90,
                    what="the DSN line",
                )
                for path in samples:
                    shutil.copy(path, home / "inbox" / path.name)
                docs = wait_for(
                    lambda: (
                        rows if len(rows := query(dsn, "SELECT * FROM documents")) == 3 else None
                    ),
                    timeout=30,
                    what="three documents",
                )
                assert {str(d["published_on"]) for d in docs} == {
                    "2020-11-11",
                    "2022-08-09",
                    "2021-04-30",
                }
                owners = set()
                for p in psutil.Process(up.pid).children(recursive=True):
                    # A short-lived child (a pool process recycled, a helper) may end
                    # between the listing and the look: it runs as nobody any more.
                    with contextlib.suppress(psutil.NoSuchProcess):
                        owners.add(p.username())
                assert owners == {USER}, f"processes run as {owners}"
            finally:
                up.send_signal(signal.SIGTERM)
                started = time.monotonic()
                code = up.wait(timeout=30)
            assert time.monotonic() - started < 10
            assert code == 0, (home / "up.err").read_text()[-3000:]
            time.sleep(0.5)
            left = [
                p
                for p in psutil.process_iter(["username", "cmdline"])
                if p.info["username"] == USER and str(home) in " ".join(p.info["cmdline"] or [])
            ]
            assert not left, f"processes left behind: {left}"
    finally:
        shutil.rmtree(base, ignore_errors=True)
