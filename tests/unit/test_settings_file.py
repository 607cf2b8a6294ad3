"""The config file: read when it is trusted, refused when another user could have written it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from worker.errors import ConfigurationError
from worker.settings import Settings

NOBODY = 65534


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "ingest.toml"
    path.write_text("batch_max_files = 7\n")
    path.chmod(0o644)
    monkeypatch.setenv("INGEST_CONFIG", str(path))
    return path


def test_a_file_of_ours_is_read(config: Path) -> None:
    assert Settings().batch_max_files == 7


def test_a_file_every_user_can_write_is_refused(config: Path) -> None:
    config.chmod(0o646)
    with pytest.raises(ConfigurationError, match="writable by every user: not read"):
        Settings()
    config.chmod(0o664)  # group-writable (a user's private group) is fine
    assert Settings().batch_max_files == 7


def test_a_file_of_another_user_is_refused(config: Path) -> None:
    # Root may hand a file to another user; anyone else cannot, so they are that other
    # user here and root's file is the trusted one.
    if os.geteuid() == 0:
        os.chown(config, NOBODY, NOBODY)
        with pytest.raises(ConfigurationError, match=r"belongs to another user \(uid 65534\)"):
            Settings()
        os.chown(config, 0, 0)
    assert Settings().batch_max_files == 7
