"""`ingest up --once` on an object-store inbox: it drains the prefix and exits.

SeaweedFS holds the inbox prefix; `ingest up --once` runs on the suite's
PostgreSQL and Valkey (URLs given), so the ledger can be read afterwards. A
bucket prefix with articles, exact copies, bad objects and one whose parsing
crashes: every object gets one fate, the prefix is empty, each object's bytes
are at its outcome key, the exit code is 1 (one failed) with the summary to
match. The next run, over good objects only, exits 0.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.s3.support import Area, article, md5
from tests.support import ingest_env, query

INGEST = Path(sys.executable).with_name("ingest")
RAISES = b"<math><img src=x><html><article><p>" + b"A body that is long enough. " * 5 + b"</p>"
UNDATED = b"An object without its date line, long enough to be judged and rejected.\n"
GOOD, COPIES = 40, 3


def once(area: Area, home: Path, database_url: str, broker_url: str) -> tuple[int, str, str]:
    env = ingest_env(
        INGEST_DATABASE_URL=database_url,
        INGEST_BROKER_URL=broker_url,
        INGEST_INBOX=area.inbox.url(),
        INGEST_DATA_DIR=str(home / "data"),
        INGEST_MAX_ATTEMPTS="1",
        **area.seaweed.environment(),
    )
    home.mkdir(exist_ok=True)
    result = subprocess.run(
        [str(INGEST), "up", "--once"],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    return result.returncode, result.stdout, result.stderr


def summary(stdout: str) -> tuple[int, ...]:
    found = re.findall(
        r"^once: (\d+) files: (\d+) stored, (\d+) duplicate, (\d+) rejected, (\d+) failed in ",
        stdout,
        re.MULTILINE,
    )
    assert len(found) == 1, stdout
    return tuple(int(n) for n in found[0])


def test_once_drains_the_inbox_prefix_and_exits(
    area: Area, database_url: str, broker_url: str, tmp_path: Path
) -> None:
    uploads: dict[str, bytes] = {f"news/a{i:02d}.txt": article(i).encode() for i in range(GOOD)}
    uploads.update({f"copies/c{i}.txt": article(i).encode() for i in range(COPIES)})
    uploads.update({"bad/undated.txt": UNDATED, "bad/empty.txt": b"", "poison.html": RAISES})
    for name, data in uploads.items():
        area.upload(name, data)

    code, out, err = once(area, tmp_path / "run1", database_url, broker_url)

    assert code == 1, out + err[-3000:]
    assert f"Once:       {len(uploads)} files waiting at the start" in out
    assert summary(out) == (len(uploads), GOOD, COPIES, 2, 1)
    assert area.keys(area.inbox) == {}  # nothing listed under the inbox prefix
    rows = query(database_url, "SELECT * FROM ingest_files ORDER BY id")
    assert sorted(r["name"] for r in rows) == sorted(uploads)  # one row each
    assert [r for r in rows if r["status"] == "processing"] == []
    poison = next(r for r in rows if r["name"] == "poison.html")
    assert (poison["status"], poison["reason"]) == ("failed", "parser_crashed")
    kept = area.keys(area.files)
    for row in rows:  # the bytes of each object at the outcome key its row names
        assert kept.get(row["outcome_path"]) == md5(uploads[row["name"]]), row
    assert not any(key.startswith("spool/") for key in kept)

    more = {f"next/n{i}.txt": article(1000 + i).encode() for i in range(3)}
    for name, data in more.items():
        area.upload(name, data)
    code, out, err = once(area, tmp_path / "run2", database_url, broker_url)
    assert code == 0, out + err[-3000:]
    assert summary(out) == (3, 3, 0, 0, 0)
    assert area.keys(area.inbox) == {}
