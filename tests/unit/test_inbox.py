"""Claiming, the spool layout, catch-up and the final move, on a real file system."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from worker.inbox import Claim, claim, finish, is_junk, pending_claims, spool_path


@pytest.mark.parametrize(
    "name",
    [
        ".hidden",
        "a/.git/x",
        "x.part",
        "y.tmp",
        "z.swp",
        "backup~",
        ".DS_Store",
        "Thumbs.db",
        "@eaDir/x.txt",
        "__MACOSX/x.txt",
        "dl.crdownload",
    ],
)
def test_junk_names(name: str) -> None:
    assert is_junk(name)


@pytest.mark.parametrize(
    "name", ["a.txt", "sub/dir/b.json", "with space.txt", "-dash.txt", "tmp.txt.gz", "ünï.txt"]
)
def test_real_names(name: str) -> None:
    assert not is_junk(name)


@pytest.mark.parametrize(
    "name", ["a.txt", "sub/dir/b.txt", "100%/x%2F.txt", "quote'\"s.txt", "new\nline.txt", "ü.txt"]
)
def test_claim_round_trips_the_name_through_the_spool(tmp_path: Path, name: str) -> None:
    inbox, spool = tmp_path / "inbox", tmp_path / "inbox" / ".ingest" / "spool"
    (inbox / name).parent.mkdir(parents=True, exist_ok=True)
    (inbox / name).write_bytes(b"data")
    taken = claim(inbox, spool, inbox / name)
    assert taken is not None and taken.name == name
    assert spool_path(spool, taken).read_bytes() == b"data"
    assert spool_path(spool, taken).parent == spool  # flat: no folder per claim
    assert pending_claims(spool) == [taken]


def test_long_names_fall_back_to_a_folder_per_claim(tmp_path: Path) -> None:
    inbox, spool = tmp_path / "inbox", tmp_path / "spool"
    name = "d" * 200 + "/" + "f" * 200 + ".txt"
    (inbox / name).parent.mkdir(parents=True)
    (inbox / name).write_bytes(b"x")
    taken = claim(inbox, spool, inbox / name)
    assert taken is not None
    assert spool_path(spool, taken) == spool / taken.claim_id / name
    assert pending_claims(spool) == [taken]
    finish(spool, tmp_path / "done", taken, None)
    assert (tmp_path / "done" / name).read_bytes() == b"x"
    assert list(spool.iterdir()) == []  # the claim folder is removed


def test_claim_of_a_vanished_file_is_none(tmp_path: Path) -> None:
    assert claim(tmp_path, tmp_path / "spool", tmp_path / "gone.txt") is None


def test_finish_is_idempotent_and_keeps_both_on_name_clash(tmp_path: Path) -> None:
    inbox, spool, done = tmp_path / "inbox", tmp_path / "spool", tmp_path / "rejected"
    inbox.mkdir()
    claims: list[Claim] = []
    for _ in range(2):
        (inbox / "same.txt").write_text("x")
        taken = claim(inbox, spool, inbox / "same.txt")
        assert taken is not None
        claims.append(taken)
    first = finish(spool, done, claims[0], {"reason": "missing_date"})
    second = finish(spool, done, claims[1], {"reason": "missing_date"})
    assert first == done / "same.txt"
    assert second == done / f"same.txt.{claims[1].claim_id}"
    assert json.loads((done / "same.txt.error.json").read_text())["reason"] == "missing_date"
    assert finish(spool, done, claims[0], None) is None  # already moved: nothing to do
    assert pending_claims(spool) == []


def test_a_claimed_symlink_is_moved_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "link.txt").symlink_to(outside)
    taken = claim(inbox, tmp_path / "spool", inbox / "link.txt")
    assert taken is not None
    assert spool_path(tmp_path / "spool", taken).is_symlink()
    assert outside.read_text() == "secret"


def test_longest_names_get_a_sidecar_and_survive_a_clash(tmp_path: Path) -> None:
    inbox, spool, done = tmp_path / "inbox", tmp_path / "spool", tmp_path / "rejected"
    inbox.mkdir()
    name = "n" * 251 + ".txt"  # 255 bytes: the longest a name can be
    finals = []
    for _ in range(2):
        (inbox / name).write_text("x")
        taken = claim(inbox, spool, inbox / name)
        assert taken is not None
        final = finish(spool, done, taken, {"reason": "missing_date"})
        assert final is not None and final.exists()
        finals.append(final)
    assert finals[0].name == name
    sidecars = sorted(p.name for p in done.glob("*.error.json"))
    assert len(sidecars) == 2  # both kept, under their claim ids
    assert pending_claims(spool) == []
