"""Item 6 (M): one bad field does not poison a batch.

Every batch here is made deterministic: the files are claimed while no worker
runs and published as one message, then the worker starts. JSON escapes for
characters PostgreSQL text cannot hold (NUL, lone surrogates) are rejected
`invalid_characters`, per record in NDJSON, while the good files of the same
batch are stored at their first attempt; a value the database itself refuses
(a real CHECK constraint) fails only its own file, `store_error`, at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.security.attack import article, execute, open_stack, settings_of, shared_root
from tests.security.conftest import NewServers
from tests.support import Stack, query, wait_for
from worker.broker.publish import celery_publisher
from worker.files.spool import claim_now, prepare_folders

BODY = "The harbour board met on Monday to settle the ferry timetable for the summer season."


def js(**fields: Any) -> str:
    return json.dumps({"date": "2021-05-04", "body": BODY, **fields})


@pytest.fixture(scope="module")
def stack(new_servers: NewServers) -> Iterator[Stack]:
    with shared_root("poison") as root:
        running = open_stack(root, *new_servers())
        try:
            yield running
        finally:
            running.stop()


def run_one_batch(stack: Stack, files: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Claim `files` with nothing running, publish them as one batch, run a worker."""
    if "worker" in stack.processes:
        stack.stop_process("worker")
    settings = settings_of(stack)
    prepare_folders(settings)
    claims = []
    for name, content in files.items():
        stack.drop(name, content)
        claims.append(claim_now(settings, name))
    celery_publisher(settings)(claims)
    stack.start_process("worker", "worker")
    wait_for(
        lambda: {r["name"] for r in stack.finished()} >= set(files), 90, what="the batch's fates"
    )
    return {r["name"]: r for r in stack.files() if r["name"] in files}


def test_characters_postgres_cannot_store_are_rejected_per_file_and_record(stack: Stack) -> None:
    """Item 6: `\\u0000` and lone surrogates (high, low, reversed pair) in title, body
    (string or list), url and source are rejected `invalid_characters`, per record in
    NDJSON; the good files and records of the same batch are stored, attempts 1."""
    nul, high, low = "\\u0000", "\\ud800", "\\udfff"
    bad = {
        "nul-title.json": js(title="x" + "\0" + "y"),
        "nul-body.json": js(body=BODY + "\0"),
        "nul-list.json": js(body=[BODY, "tail\0"]),
        "nul-url.json": js(url="https://example.org/\0"),
        "nul-source.json": js(source={"name": "BBC\0"}),
        "high-title.json": js(title="\ud800 alone"),
        "low-body.json": js(body=BODY + "\udfff"),
        "reversed-pair.json": js(body=BODY + "\udc00\ud800"),
    }
    records = [
        js(title="good record one"),
        js(title="nul " + "\0"),
        js(body=BODY + " second good record"),
        js(url="https://example.org/\ud83d"),
        "{not json",
    ]
    files = {
        **bad,
        "mixed.ndjson": "\n".join(records) + "\n",
        "good.txt": article("good in a poisoned batch"),
        "good.json": js(title="A good JSON article", body=BODY + " (good json)"),
    }
    rows = run_one_batch(stack, files)
    for name in bad:
        assert (rows[name]["status"], rows[name]["reason"]) == ("rejected", "invalid_characters")
    for name in ("good.txt", "good.json", "mixed.ndjson"):
        assert rows[name]["status"] == "stored", rows[name]
    assert {r["attempts"] for r in rows.values()} == {1}
    mixed = rows["mixed.ndjson"]
    assert mixed["records"] == 5
    rejected = query(
        stack.database_url,
        "SELECT record_no, reason FROM rejections WHERE file_id = %s ORDER BY record_no",
        (mixed["id"],),
    )
    assert [(r["record_no"], r["reason"]) for r in rejected] == [
        (2, "invalid_characters"),
        (4, "invalid_characters"),
        (5, "malformed_json"),
    ]
    # The raw escapes, as written in the files, were the input (not Python's own text).
    assert nul in files["nul-title.json"] and high in files["high-title.json"]
    assert low in files["low-body.json"]
    assert len(stack.documents()) == 4


def test_a_value_the_database_refuses_fails_only_its_own_file(stack: Stack) -> None:
    """Item 6: with a real constraint on the test database (no document titled
    'poison'), a JSON article titled "poison" (alone, and as one record of an NDJSON
    file) in a batch of good ones fails `store_error` at its first attempt; every
    other file of the batch is stored at its first attempt, none retried."""
    execute(
        stack.database_url,
        "ALTER TABLE documents ADD CONSTRAINT no_poison CHECK (title IS DISTINCT FROM 'poison')",
    )
    good = {
        f"fine-{i}.json": js(title=f"Fine {i}", body=f"{BODY} Fine number {i}.") for i in range(4)
    }
    files = {
        **good,
        "poison.json": js(title="poison", body=BODY + " A poisoned title."),
        "poison-record.ndjson": js(title="ok", body=BODY + " ok record")
        + "\n"
        + js(title="poison", body=BODY + " poisoned record")
        + "\n",
    }
    before = stack.log("worker").count("retry in")
    rows = run_one_batch(stack, files)
    for name in ("poison.json", "poison-record.ndjson"):
        assert (rows[name]["status"], rows[name]["reason"]) == ("failed", "store_error"), rows[name]
        assert "no_poison" in rows[name]["detail"]
        assert (stack.work / "failed" / name).exists()
    for name in good:
        assert rows[name]["status"] == "stored"
    assert {r["attempts"] for r in rows.values()} == {1}
    assert stack.log("worker").count("retry in") == before, "a batch was retried"
