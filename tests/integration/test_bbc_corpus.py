"""All 2,225 BBC articles, dated by a helper, through the real running stack."""

from __future__ import annotations

import time
from collections import Counter

from tests.corpus_helpers import bbc_articles, dated, day_for, identical_groups
from tests.support import Stack, query, wait_for


def test_whole_bbc_corpus_is_ingested(stack: Stack) -> None:
    articles = bbc_articles()
    assert len(articles) == 2225, "expected the whole corpus in ../shared/corpora/bbc"
    stack.start()
    started = time.monotonic()
    for name, raw in articles.items():
        stack.drop(name, dated(raw))

    def finished() -> int:
        rows = query(
            stack.database_url,
            "SELECT count(*) AS n FROM ingest_files WHERE status <> 'processing'",
        )
        return int(rows[0]["n"]) if rows[0]["n"] >= len(articles) else 0

    try:
        wait_for(finished, timeout=300, interval=0.5, what="every article to finish")
    except AssertionError:
        raise AssertionError(
            f"{stack.log('worker')[-3000:]}\n---\n{stack.log('watcher')[-3000:]}"
        ) from None
    elapsed = time.monotonic() - started
    print(f"\nBBC corpus: {len(articles)} files to a final fate in {elapsed:.1f} s")

    files = {f["name"]: f for f in stack.files()}
    assert set(files) == set(articles)  # one ledger row per file, names as dropped
    fates = Counter(f["status"] for f in files.values())
    rejected = {n: (f["reason"], f["detail"]) for n, f in files.items() if f["reason"]}
    assert "failed" not in fates, fates
    assert rejected == {}, rejected
    assert fates["stored"] + fates["duplicate"] == len(articles), fates

    # Every byte-identical pair: one stored, the other a duplicate of the same document.
    for group in identical_groups(articles):
        statuses = Counter(files[n]["status"] for n in group)
        assert statuses == {"stored": 1, "duplicate": len(group) - 1}, (group, statuses)
        assert len({files[n]["document_id"] for n in group}) == 1, group
    # Every duplicate repeats the article of the file that owns its document: byte for
    # byte, or (sport/181-182, 332-344, 432-438) up to letter case and white space.
    owners = {
        d["id"]: d["name"]
        for d in query(
            stack.database_url,
            "SELECT d.id, f.name FROM documents d JOIN ingest_files f ON f.id = d.file_id",
        )
    }
    loose = []
    for name, row in files.items():
        if row["status"] != "duplicate":
            continue
        owner = owners[row["document_id"]]
        if articles[owner] != articles[name]:
            assert _loosely(articles[owner]) == _loosely(articles[name]), (name, owner)
            loose.append(name)
    print(f"fates: {dict(fates)}; duplicates up to case and white space only: {sorted(loose)}")

    # The Latin-1 article is decoded, not mangled; its date is the helper's.
    latin1 = files["sport/199.txt"]
    doc = query(
        stack.database_url, "SELECT * FROM documents WHERE id = %s", (latin1["document_id"],)
    )
    body = doc[0]["body"]
    assert "£" in body and "\ufffd" not in body and "Ã" not in body
    assert doc[0]["published_on"] == day_for(articles["sport/199.txt"])
    assert body.startswith("Chelsea sack Mutu\n\n")

    wait_for(lambda: not stack.spool_files(), timeout=60, what="an empty spool")
    for key in ("watcher", "worker"):
        assert stack.processes[key].poll() is None, stack.log(key)[-3000:]


def _loosely(raw: bytes) -> str:
    return " ".join(raw.decode("utf-8", "replace").casefold().split())
