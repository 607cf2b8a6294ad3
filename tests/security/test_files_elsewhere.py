"""Item 11 (L): a files folder on another file system than the inbox is refused at start.

Claims and outcome moves are atomic renames: across file systems each would
fail (EXDEV), files would never get a fate. `ingest watch` and `ingest up`
refuse such a files_dir before claiming anything, with a sentence that says
why; so does a files_dir reached through a link (to /dev/shm, or anywhere).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.security.attack import article, plain_env, shared_root
from tests.security.conftest import NewServers

SHM = Path("/dev/shm")


@pytest.fixture
def elsewhere() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="ingest-sec-files-", dir=SHM))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "worker", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("how", ["direct", "nested", "through-a-link"])
@pytest.mark.parametrize("command", ["watch", "up"])
def test_files_dir_on_another_file_system_is_refused(
    command: str, how: str, elsewhere: Path, new_servers: NewServers
) -> None:
    """Item 11: `ingest watch` and `ingest up` with files_dir on /dev/shm (directly, a
    folder below it, or through a link to it) exit 2 with a clear error; the file
    dropped in the inbox stays there and nothing is created on /dev/shm."""
    database_url, broker_url = new_servers()
    with shared_root("elsewhere") as root:
        inbox = root / "inbox"
        inbox.mkdir()
        (inbox / "a.txt").write_text(article("stays in the inbox"))
        files = {"direct": elsewhere, "nested": elsewhere / "a" / "b"}.get(how)
        if files is None:
            files = root / "link"
            files.symlink_to(elsewhere)
        env = plain_env(
            INGEST_DATABASE_URL=database_url,
            INGEST_BROKER_URL=broker_url,
            INGEST_INBOX=str(inbox),
            INGEST_FILES_DIR=str(files),
            INGEST_DATA_DIR=str(root / "data"),
        )
        done = run([command], env, root)
        assert done.returncode == 2, done.stdout + done.stderr
        said = done.stderr
        if how == "through-a-link":
            assert "symbolic link" in said or "another file system" in said, said
        else:
            assert "another file system" in said and str(files) in said, said
        assert said.count("\n") <= 3, f"a traceback instead of a sentence: {said}"
        assert (inbox / "a.txt").exists()
        assert not any(elsewhere.rglob("spool")), "a spool was made on the other file system"
