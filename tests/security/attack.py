"""What the security tests share: an attacker (`nobody`), canaries, stacks reachable by both.

The suite runs as root. Attacker steps run as `nobody` (no supplementary
groups); the folders it needs are opened to it for the test only: a stack's
root is 0711 (traversable, not listable) and its inbox 1777, like a shared
drop folder. Secrets are root's: 0600 files in a 0700 folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from tests.support import Stack, ingest_env, query, server_dir
from worker.settings import Settings

NOBODY = pwd.getpwnam("nobody")
#: Debian's interpreter: nobody cannot enter /root, where the suite's Python lives.
SYSTEM_PYTHON = "/usr/bin/python3.11"


def as_nobody(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a command as `nobody`; its output is returned, never checked here."""
    return subprocess.run(
        argv,
        user=NOBODY.pw_uid,
        group=NOBODY.pw_gid,
        extra_groups=[],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd="/",
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        **kwargs,
    )


def sh_as_nobody(script: str) -> subprocess.CompletedProcess[str]:
    done = as_nobody(["/bin/sh", "-c", script])
    assert done.returncode == 0, f"attacker step failed: {script}\n{done.stderr}"
    return done


def shared_root(prefix: str) -> contextlib.AbstractContextManager[Path]:
    """A folder others may pass through (0711) but not list; removed afterwards."""
    return server_dir(f"sec-{prefix}")


def article(marker: str, paragraphs: int = 1) -> str:
    """A valid dated article in plain English, unique by `marker`."""
    text = [
        "date 2021-06-15",
        f"The council met on Tuesday to discuss the harbour report {marker}.",
    ]
    for i in range(paragraphs):
        text.append(
            f"Members agreed that the ferry timetable for the summer season should change, "
            f"and the mayor promised a public meeting about it next month ({marker}-{i})."
        )
    return "\n\n".join(text) + "\n"


@dataclass
class Canary:
    """A root-only file (0600 in a 0700 folder) that no step of ours may read or move."""

    folder: Path
    path: Path
    marker: str
    content: bytes
    identity: tuple[int, int, int, int, int, int]

    @classmethod
    def plant(cls, parent: Path, name: str = "secret", file: str = "canary.txt") -> Canary:
        folder = parent / name
        folder.mkdir(mode=0o700)
        folder.chmod(0o700)
        marker = f"canary{os.urandom(6).hex()}"
        content = article(marker, 2).encode()
        path = folder / file
        path.write_bytes(content)
        path.chmod(0o600)
        return cls(folder, path, marker, content, _identity(path))

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    def assert_untouched(self, database_url: str) -> None:
        self.assert_in_place()
        leaked = query(
            database_url,
            "SELECT id FROM documents WHERE body LIKE %s OR title LIKE %s",
            (f"%{self.marker}%", f"%{self.marker}%"),
        )
        assert not leaked, f"a document holds the canary's text: {leaked}"
        hashed = query(
            database_url, "SELECT id FROM ingest_files WHERE sha256 = %s", (self.sha256,)
        )
        assert not hashed, f"the canary's bytes were read: {hashed}"

    def assert_in_place(self) -> None:
        assert self.path.is_file() and not self.path.is_symlink(), f"{self.path} moved"
        assert self.path.read_bytes() == self.content
        assert _identity(self.path) == self.identity, "the canary's inode, mode or mtime changed"
        assert sorted(p.name for p in self.path.parent.iterdir()) == [self.path.name]
        assert (self.folder.stat().st_mode & 0o777) == 0o700


def _identity(path: Path) -> tuple[int, int, int, int, int, int]:
    info = path.lstat()
    return (info.st_dev, info.st_ino, info.st_mode, info.st_uid, info.st_size, info.st_mtime_ns)


def open_stack(root: Path, database_url: str, broker_url: str, **settings: str) -> Stack:
    """A Stack whose inbox is a shared drop folder (1777) that `nobody` can reach."""
    running = Stack(root, database_url, broker_url, **settings)
    running.inbox.chmod(0o1777)
    return running


def settings_of(stack: Stack, **values: Any) -> Settings:
    return Settings(
        database_url=stack.database_url,
        broker_url=stack.broker_url,
        inbox=stack.inbox,
        **values,
    )


def ingest(stack: Stack, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """An operator command against the stack, its output kept (not checked)."""
    return stack.command(*args, **env)


def plain_env(**values: str) -> dict[str, str]:
    return ingest_env(**values)


def execute(url: str, sql: str) -> None:
    """A statement that returns no rows (DDL as the database's owner)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def documents_with(database_url: str, text: str) -> list[dict[str, Any]]:
    return query(database_url, "SELECT id, body FROM documents WHERE body LIKE %s", (f"%{text}%",))
