"""Item 2 (H): directory symlinks are never followed, in events and in polling mode.

`nobody` links a root-only folder (0600 files in a 0700 folder) into a shared
inbox: at the top, nested, as a file link, dangling, looping, to `/` and to our
own spool. Each link is claimed as what it is, an entry, and rejected
`symlink`; the target's files stay where they are, unread. The race (a real
folder swapped for a link between readiness and claim) is made deterministic
by claiming with a snapshot taken before the swap.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.security.attack import (
    Canary,
    article,
    ingest,
    open_stack,
    settings_of,
    sh_as_nobody,
    shared_root,
)
from tests.security.conftest import NewServers
from tests.support import Stack, query, wait_for
from worker.files.safe import DIR_FLAGS, LinkInPath
from worker.files.spool import Snapshot, Taken, claim, prepare_folders, snapshot
from worker.settings import Settings

FAST = {"INGEST_POLL_INTERVAL_S": "0.2", "INGEST_RESCAN_INTERVAL_S": "1"}
POLLING = {"INGEST_WATCH_MODE": "polling", "INGEST_POLL_STABLE_S": "0.4", **FAST}


def plant_links(inbox: Path, canary: Canary) -> dict[str, str]:
    """The attacker's links (as nobody); name in the inbox -> what it points at."""
    links = {
        "dirlink": str(canary.folder),
        "sub/nested": str(canary.folder),
        "deep/a/b/c": str(canary.folder),
        "filelink.txt": str(canary.path),
        "dangling.txt": str(canary.folder / "not-there.txt"),
        "loop": "loop",
        "rootlink": "/",
        "spoollink": str(inbox / ".ingest" / "spool"),
        "relative": "../secret",
    }
    script = " && ".join(
        f"mkdir -p {inbox / Path(name).parent} && ln -s {target} {inbox / name}"
        for name, target in links.items()
    )
    sh_as_nobody(script)
    return links


def check_rejected_links(stack: Stack, links: dict[str, str], canary: Canary) -> None:
    rows = {r["name"]: r for r in stack.wait_finished(len(links) + 1, timeout=60)}
    assert set(rows) == {*links, "plain.txt"}
    assert rows.pop("plain.txt")["status"] == "stored"
    for name, row in rows.items():
        assert (row["status"], row["reason"]) == ("rejected", "symlink"), (name, row)
        assert row["sha256"] is None  # never opened
        kept = stack.work / "rejected" / name
        # The move follows the commit that recorded the fate: wait for it, briefly.
        wait_for(kept.is_symlink, 10, 0.02, what=f"{name} moved to rejected/")
        assert kept.is_symlink() and os.readlink(kept) == links[name], name
    canary.assert_untouched(stack.database_url)
    assert len(stack.documents()) == 1


@pytest.fixture(scope="module")
def root() -> Iterator[Path]:
    with shared_root("links") as folder:
        yield folder


@pytest.mark.parametrize("mode", ["events", "polling"])
def test_linked_folders_are_rejected_as_links_never_entered(
    mode: str, root: Path, new_servers: NewServers
) -> None:
    """Item 2: in events and polling mode, every link nobody plants (folder, nested
    folder, file, dangling, loop, `/`, our spool) gets a `symlink` rejection and is
    kept as the link itself; the root-only target's files stay, unread."""
    base = root / mode
    base.mkdir()
    canary = Canary.plant(base)
    stack = open_stack(base, *new_servers(), **(POLLING if mode == "polling" else FAST))
    try:
        stack.start()
        links = plant_links(stack.inbox, canary)
        stack.drop("plain.txt", article(f"plain {mode}"))
        check_rejected_links(stack, links, canary)
    finally:
        stack.stop()


def test_links_present_before_start_are_rejected_too(root: Path, new_servers: NewServers) -> None:
    """Item 2, start-up scan path: links planted while nothing runs are never entered."""
    base = root / "startup"
    base.mkdir()
    canary = Canary.plant(base)
    stack = open_stack(base, *new_servers(), **FAST)
    try:
        links = plant_links(stack.inbox, canary)
        stack.drop("plain.txt", article("plain startup"))
        stack.start()
        check_rejected_links(stack, links, canary)
    finally:
        stack.stop()


def test_a_planted_files_folder_is_refused(root: Path, new_servers: NewServers) -> None:
    """Item 2, the files folder itself: in a shared inbox, `nobody` plants `.ingest`
    (where the spool and outcome folders go by default) before the first start, as a
    link to a folder of its own, or as its own folder (0777). The watcher refuses to
    start, says why, and claims nothing into the attacker's folder."""
    base = root / "planted"
    base.mkdir()
    stack = open_stack(base, *new_servers(), **FAST)
    theirs = base / "theirs"
    theirs.mkdir()
    os.chown(theirs, 65534, 65534)
    stack.drop("victim.txt", article("victim of a planted files folder"))
    try:
        for plant, why in (
            (f"ln -s {theirs} {stack.inbox}/.ingest", "is a symbolic link"),
            (f"mkdir -m 777 {stack.inbox}/.ingest", "belongs to another user"),
        ):
            sh_as_nobody(f"rm -rf {stack.inbox}/.ingest && {plant}")
            watcher = stack.start_process("watcher", "watch")
            assert watcher.wait(timeout=60) == 2
            stack.processes.pop("watcher")
            assert why in stack.log("watcher"), stack.log("watcher")[-2000:]
            landed = [p.name for p in theirs.rglob("*")] + [
                p.name for p in (stack.inbox / ".ingest").rglob("*")
            ]
            assert not landed, f"the watcher put files in the attacker's folder: {landed}"
            assert (stack.inbox / "victim.txt").exists()
    finally:
        stack.stop()


# -- the race: a folder swapped for a link between readiness and claim ---------------


def _race(tmp: Path, parts: list[str], swap: str, matching: bool) -> None:
    """Create inbox/<parts>, snapshot it, let nobody swap inbox/<swap> for a link to a
    root-only folder holding the same layout, then claim with the old snapshot."""
    settings = Settings(inbox=tmp / "inbox")
    prepare_folders(settings)
    settings.inbox_dir.chmod(0o1777)
    canary = Canary.plant(tmp, file=parts[-1])
    inbox = settings.inbox_dir
    # The attacker's own folder and file, made as nobody so it may rename them.
    sh_as_nobody(
        f"mkdir -p {inbox / Path(*parts).parent} && "
        f"printf 'date 2021-01-01\\nbait\\n' > {inbox / Path(*parts)}"
    )
    # Below the swapped component, the target holds the same path (as root: its folder).
    below = parts[parts.index(swap) + 1 : -1]
    target = canary.folder
    if below:
        nested = canary.folder.joinpath(*below)
        nested.mkdir(parents=True, mode=0o700)
        os.rename(canary.path, nested / parts[-1])
        canary.path = nested / parts[-1]
    in_fd, spool_fd = os.open(inbox, DIR_FLAGS), os.open(settings.spool_dir, DIR_FLAGS)
    try:
        seen = snapshot(in_fd, "/".join(parts))
        assert seen is not None and seen.regular
        if matching:  # worst case: readiness saw exactly what the link leads to
            seen = Snapshot.of(canary.path.lstat())
        swapped = inbox.joinpath(*parts[: parts.index(swap) + 1])
        sh_as_nobody(f"mv {swapped} {swapped}.old && ln -s {target} {swapped}")
        try:
            state, taken = claim(in_fd, spool_fd, parts, seen)
        except LinkInPath:
            state, taken = None, None
        assert taken is None and state in (None, Taken.GONE, Taken.CHANGED), state
    finally:
        os.close(in_fd)
        os.close(spool_fd)
    assert not any(settings.spool_dir.iterdir()), "something was claimed through the link"
    canary.assert_in_place()  # a rename keeps inode and mtime: the same identity


@pytest.mark.parametrize("matching", [False, True], ids=["snapshot-before-swap", "matching"])
@pytest.mark.parametrize(
    ("parts", "swap"),
    [
        (["d", "secret.txt"], "d"),
        (["a", "b", "secret.txt"], "b"),
        (["a", "b", "secret.txt"], "a"),
        (["x", "y", "z", "secret.txt"], "y"),
    ],
    ids=["top", "nested-inner", "nested-outer", "deep"],
)
def test_a_folder_swapped_for_a_link_before_the_claim_moves_nothing(
    root: Path, parts: list[str], swap: str, matching: bool
) -> None:
    """Item 2, the race: a real folder in the inbox replaced by a link between readiness
    and claim (`worker.files.spool.claim` with a snapshot taken before the swap, and
    with one that matches the target's file): the target's file is not moved."""
    base = Path(tempfile.mkdtemp(prefix="race-", dir=root))
    base.chmod(0o711)
    _race(base, parts, swap, matching)


def test_the_watcher_claims_through_no_link_after_a_swap(
    root: Path, new_servers: NewServers
) -> None:
    """Item 2, the race through the real watcher: nobody drops a file in a folder, then
    swaps the folder for a link to the root-only folder while the watcher waits for the
    file to settle; the link is rejected, the target's file stays."""
    base = root / "swap"
    base.mkdir()
    canary = Canary.plant(base, file="news.txt")
    stack = open_stack(base, *new_servers(), INGEST_SETTLE_MS="1500", **FAST)
    try:
        stack.start()
        wait_for(lambda: "watching" in stack.log("watcher"), 60, what="the watcher")
        sh_as_nobody(f"mkdir {stack.inbox}/feed && echo bait > {stack.inbox}/feed/news.txt")
        sh_as_nobody(
            f"sleep 0.3 && mv {stack.inbox}/feed {stack.inbox}/feed.old "
            f"&& ln -s {canary.folder} {stack.inbox}/feed"
        )
        rows = {r["name"]: r for r in stack.wait_finished(2, timeout=60)}
        assert (rows["feed"]["status"], rows["feed"]["reason"]) == ("rejected", "symlink")
        assert "feed/news.txt" not in rows or rows["feed/news.txt"]["sha256"] != canary.sha256
        canary.assert_untouched(stack.database_url)
        assert query(stack.database_url, "SELECT count(*) AS n FROM documents")[0]["n"] == 0
        settings_of(stack)  # the stack's settings still load
    finally:
        stack.stop()


def test_release_into_a_folder_swapped_for_a_link_moves_nothing(
    root: Path, new_servers: NewServers
) -> None:
    """Item 2, the operator's side: a rejected `rel/x.txt` is released back into the
    inbox after nobody swapped the (empty) inbox folder `rel` for a link to the
    root-only folder: `ingest rejected --release` puts nothing there, keeps the file,
    and says the name is taken."""
    base = root / "release"
    base.mkdir()
    canary = Canary.plant(base)
    stack = open_stack(base, *new_servers(), **FAST)
    try:
        stack.start()
        sh_as_nobody(f"mkdir {stack.inbox}/rel")
        stack.drop("rel/x.txt", "Words without a date line, long enough to be judged fairly.")
        (row,) = stack.wait_finished(1, timeout=60)
        assert (row["status"], row["reason"]) == ("rejected", "missing_date")
        stack.stop_process("watcher")  # it would claim (and reject) the link itself
        sh_as_nobody(f"rmdir {stack.inbox}/rel && ln -s {canary.folder} {stack.inbox}/rel")
        done = ingest(stack, "rejected", "--release", "rel/x.txt")
        assert done.returncode == 1 and "inbox_taken" in done.stdout, done.stdout + done.stderr
        assert "Traceback" not in done.stderr
        assert (stack.work / "rejected" / "rel" / "x.txt").is_file()
        canary.assert_untouched(stack.database_url)
    finally:
        stack.stop()
