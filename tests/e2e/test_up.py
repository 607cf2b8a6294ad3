"""`ingest up` as a user runs it: embedded servers, samples in, duplicate, SIGTERM."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from tests.support import ingest_env, query, wait_for


def _dsn(lines: list[str]) -> str | None:
    for line in lines:
        if line.startswith("PostgreSQL: "):
            return line.split(": ", 1)[1].strip()
    return None


def test_ingest_up_end_to_end(tmp_path: Path, samples: list[Path]) -> None:
    inbox = tmp_path / "inbox"
    out_path = tmp_path / "up.out"
    env = ingest_env(INGEST_INBOX=str(inbox), INGEST_DATA_DIR=str(tmp_path / "data"))
    with open(out_path, "wb") as out, open(tmp_path / "up.err", "wb") as err:
        up = subprocess.Popen(
            [sys.executable, "-m", "worker", "up"], env=env, stdout=out, stderr=err
        )
    try:
        dsn = wait_for(
            lambda: _dsn(out_path.read_text().splitlines()), timeout=60, what="the DSN line"
        )
        children = psutil.Process(up.pid).children(recursive=True)
        started = time.monotonic()
        for path in samples:
            shutil.copy(path, inbox / path.name)

        def documents() -> list[dict[str, object]]:
            return query(dsn, "SELECT * FROM documents ORDER BY id")

        docs = wait_for(
            lambda: d if len(d := documents()) == 3 else None, timeout=30, what="three documents"
        )
        elapsed = time.monotonic() - started
        by_date = {str(d["published_on"]): d for d in docs}
        assert set(by_date) == {"2020-11-11", "2022-08-09", "2021-04-30"}
        for path in samples:
            text = path.read_text("utf-8")
            published = text.split()[1]
            body = text.strip().split(" ", 2)[2].strip()
            assert by_date[published]["body"] == body.strip()
        print(f"three samples stored {elapsed:.2f}s after the copy")

        # The same article again, under another name: a duplicate, no new document.
        shutil.copy(samples[0], inbox / "copy-of-first.txt")
        dup = wait_for(
            lambda: query(
                dsn,
                "SELECT * FROM ingest_files WHERE name = 'copy-of-first.txt' "
                "AND status <> 'processing'",
            ),
            timeout=30,
            what="the duplicate's ledger row",
        )[0]
        original = query(
            dsn,
            "SELECT d.id FROM documents d JOIN ingest_files f ON f.id = d.file_id "
            "WHERE f.name = %s",
            (samples[0].name,),
        )[0]
        assert dup["status"] == "duplicate"
        assert dup["document_id"] == original["id"]
        assert len(documents()) == 3
        assert "received" in out_path.read_text()  # the live progress line
    finally:
        up.send_signal(signal.SIGTERM)
        stop_started = time.monotonic()
        code = up.wait(timeout=30)
    stop_took = time.monotonic() - stop_started
    assert code == 0, (tmp_path / "up.err").read_text()[-3000:]
    assert stop_took < 10, f"ingest up took {stop_took:.1f}s to stop"
    time.sleep(0.5)
    left = [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert not left, f"processes left behind: {left}"
    postgres_left = [
        p
        for p in psutil.process_iter(["cmdline"])
        if str(tmp_path) in " ".join(p.info["cmdline"] or [])
    ]
    assert not postgres_left, f"servers left behind: {postgres_left}"
