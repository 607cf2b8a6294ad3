"""Item 12 (L): file names with newlines or terminal escape sequences are printed escaped.

`nobody` drops files whose names carry a newline followed by a forged log
line, ANSI escape sequences (clear screen, colours, a window title), a
carriage return, a bell, DEL, the 8-bit CSI, Unicode line separators and a
right-to-left override, and bytes that are not UTF-8. No raw control
character reaches any output: `ingest status`, `ingest rejected`, `ingest
retry`, `ingest prune`, and the worker's and watcher's logs (the per-file
line `file <id> (<name>): ...` included).
"""

from __future__ import annotations

import json
import os
import unicodedata
from collections.abc import Iterator

import pytest

from tests.security.attack import article, execute, ingest, open_stack, shared_root
from tests.security.conftest import NewServers
from tests.support import Stack, wait_for

FORGED = "FORGED 2021-01-01 00:00:00 ERROR root: forged line"
NAMES = [
    f"newline\n{FORGED}.txt",
    "csi\x1b[2J\x1b[31mred\x1b[0m.txt",
    "title\x1b]0;owned\x07.txt",
    "return\rover.txt",
    "bell\x07del\x7f.txt",
    "c1\x9b31mcsi.txt",
    "sep\u2028line\u2029para.txt",
    "bidi\u202etxt.exe",
    "tab\tand\x0bvt.txt",
]
RAW_NAME = b"latin1-\xff\x1b[5m.txt"  # not UTF-8, with an escape too
UNDATED = "Words without a date line, long enough to be judged on their merits: {}."


def raw_controls(text: str) -> list[str]:
    """Characters a terminal would act on (only the newline between lines is allowed)."""
    return sorted(
        {
            repr(c)
            for c in text
            if c != "\n"
            and (unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") or "\udc80" <= c <= "\udcff")
        }
    )


def assert_clean(what: str, text: str) -> None:
    assert not raw_controls(text), f"{what} printed raw controls {raw_controls(text)}:\n{text!r}"
    assert not any(line.startswith("FORGED") for line in text.splitlines()), f"{what}: {text!r}"


@pytest.fixture(scope="module")
def stack(new_servers: NewServers) -> Iterator[Stack]:
    with shared_root("controls") as root:
        running = open_stack(root, *new_servers(), INGEST_POLL_INTERVAL_S="0.2")
        execute(
            running.database_url,
            "ALTER TABLE documents ADD CONSTRAINT no_poison "
            "CHECK (title IS DISTINCT FROM 'poison')",
        )
        running.start()
        # nobody's files (as root here: the names are what matters, and root can write
        # names nobody could not).
        for i, name in enumerate(NAMES):
            running.drop(name, UNDATED.format(i))
        poison = json.dumps(
            {
                "date": "2021-05-04",
                "title": "poison",
                "body": "A body long enough for the rules, with a poisoned title that fails.",
            }
        )
        running.drop("poison\x1b[2J\nFORGED.json", poison)
        running.drop("stored\x1b[1m\n.txt", article("stored with an odd name"))
        fd = os.open(running.inbox, os.O_RDONLY)
        try:
            with os.fdopen(os.open(RAW_NAME, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "w") as f:
                f.write(UNDATED.format("raw bytes"))
        finally:
            os.close(fd)
        running.wait_finished(len(NAMES) + 3, timeout=60)
        try:
            yield running
        finally:
            running.stop()


def test_every_file_got_its_fate(stack: Stack) -> None:
    """Item 12: the odd names themselves are no obstacle: each file has its fate."""
    rows = stack.files()
    assert sorted(r["status"] for r in rows) == sorted(
        ["rejected"] * (len(NAMES) + 1) + ["failed", "stored"]
    )


def test_worker_and_watcher_logs_hold_no_raw_control_character(stack: Stack) -> None:
    """Item 12: the worker's per-file lines (`file <id> (<name>): ...`) and every other
    line of the worker's and the watcher's logs are free of raw controls."""
    wait_for(lambda: stack.log("worker").count("(poison") >= 1, 40, what="the per-file lines")
    for key in ("worker", "watcher"):
        assert_clean(f"the {key} log", stack.log(key))
    assert "\\x1b[2J" in stack.log("worker")  # escaped, still there to read
    assert stack.log("worker").count("): rejected") >= len(NAMES)


@pytest.mark.parametrize(
    "args",
    [("status",), ("status", "--json"), ("rejected",), ("rejected", "--json")],
    ids=["status", "status-json", "rejected", "rejected-json"],
)
def test_operator_commands_print_names_escaped(stack: Stack, args: tuple[str, ...]) -> None:
    """Item 12: `ingest status` (its latest rejections) and `ingest rejected`, in text
    and JSON, on stdout and stderr."""
    done = ingest(stack, *args)
    assert done.returncode == 0, done.stderr
    assert "rejected" in done.stdout or "missing_date" in done.stdout
    assert_clean(f"ingest {' '.join(args)} (stdout)", done.stdout)
    assert_clean(f"ingest {' '.join(args)} (stderr)", done.stderr)


def test_retry_prints_names_escaped(stack: Stack) -> None:
    """Item 12: `ingest retry` of a failed file whose name holds escapes and a newline."""
    done = ingest(stack, "retry")
    assert done.returncode == 0, done.stderr
    assert "requeued" in done.stdout and "poison" in done.stdout
    assert_clean("ingest retry (stdout)", done.stdout)
    assert_clean("ingest retry (stderr)", done.stderr)


def test_prune_prints_names_escaped(stack: Stack) -> None:
    """Item 12: `ingest prune` (dry run and for real) of the rejected files."""
    for args in (("prune", "--dry-run"), ("prune",)):
        done = ingest(stack, *args, INGEST_KEEP_REJECTED_DAYS="0")
        assert done.returncode == 0, done.stderr
        assert "files" in done.stdout
        assert_clean(f"ingest {' '.join(args)} (stdout)", done.stdout)
        assert_clean(f"ingest {' '.join(args)} (stderr)", done.stderr)
