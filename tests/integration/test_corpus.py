"""A whole corpus, dated by a helper, through the real running stack.

Always on the generated corpus (2,000 articles with known exact copies, near
copies, partial copies and rewrites); also on the BBC news corpus where it has
been unpacked (see tests/corpus_helpers.py). The generator itself is checked
first: its articles read as English and its ground truth is complete.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from typing import Any

import pytest

from benchmarks.dedupe_quality import exact_jaccard_pairs
from benchmarks.generated import generate, jaccard
from tests.corpus_helpers import LINK_FLOOR, Case, case, corpus_labels, dated, day_for
from tests.support import Stack, query, wait_for
from worker.dedupe.minhash import shingles
from worker.dedupe.normalise import normalise
from worker.parse.decode import decode
from worker.parse.language import detect

# --- the generator ---------------------------------------------------------------------


def test_generated_corpus_is_the_same_on_every_run() -> None:
    first, again, other = generate(300), generate(300), generate(300, seed=1)
    assert first == again
    assert first.files != other.files
    assert len(first.files) == 300


def test_generated_articles_read_as_english_prose() -> None:
    corpus = generate()
    # A word (hyphens, apostrophes), a figure (£12m, 3.5%, 1,200) or a dash, with punctuation.
    word = re.compile(
        r"[\"\u201c]?(?:[A-Za-z]+(?:[-'\u2019][A-Za-z]+)*|£?\d[\d,.]*(?:m|bn|%)?|-)[,.:\"\u201d]*"
    )
    for name, raw in corpus.files.items():
        text = decode(raw)
        assert detect(text) == "en", name
        tokens = text.split()
        assert 100 < len(tokens) < 800, name
        assert [t for t in tokens if not word.fullmatch(t)] == [], name


def test_generated_truth_is_complete_and_in_its_bands() -> None:
    corpus = generate()
    names = sorted(corpus.files)
    texts = [decode(corpus.files[n]) for n in names]
    sets = [frozenset(shingles(normalise(t), 5)) for t in texts]
    brute = {(names[a], names[b]): j for (a, b), j in exact_jaccard_pairs(sets).items()}
    similar = {pair: j for pair, j in brute.items() if j >= 0.3}
    assert similar.keys() <= corpus.pairs.keys(), "a similar pair the generator did not make"
    for pair, rel in corpus.pairs.items():
        assert rel.jaccard == pytest.approx(brute.get(pair, 0.0), abs=1e-12), pair
    kinds = {kind: corpus.of_kind(kind) for kind in ("exact", "near", "partial", "rewrite")}
    assert all(kinds.values()), {kind: len(pairs) for kind, pairs in kinds.items()}
    assert all(0.82 <= j <= 0.97 for j in kinds["near"].values())
    assert sum(j >= 0.9 for j in kinds["near"].values()) >= 20  # must be linked below
    assert all(0.42 <= j <= 0.56 for j in kinds["partial"].values())
    assert all(j < 0.2 for j in kinds["rewrite"].values())
    assert all(j == 1.0 for j in kinds["exact"].values())
    # Exact copies: equal once normalised; some are byte-identical, some only normalise equal.
    identical = loose = 0
    for a, b in kinds["exact"]:
        ra, rb = corpus.files[a], corpus.files[b]
        assert normalise(decode(ra)) == normalise(decode(rb))
        identical, loose = identical + (ra == rb), loose + (ra != rb)
    assert identical and loose
    changes = {"\r\n": 0, "\u201c": 0, "  ": 0}
    for raw in corpus.files.values():
        for mark in changes:
            changes[mark] += mark.encode() in raw
    assert all(changes.values()), changes
    assert len(corpus.latin1) >= 3
    for name in corpus.latin1:
        raw = corpus.files[name]
        assert b"\xa3" in raw
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")
    assert jaccard("a b c d e f", "a b c d e f") == 1.0


# --- through the stack -----------------------------------------------------------------


@pytest.mark.parametrize("label", corpus_labels())
def test_whole_corpus_is_ingested(stack: Stack, label: str) -> None:
    corpus = case(label)
    articles = corpus.files
    assert len(articles) == corpus.expected_files
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
        wait_for(finished, timeout=240, interval=0.5, what="every article to finish")
    except AssertionError:
        raise AssertionError(
            f"{stack.log('worker')[-3000:]}\n---\n{stack.log('watcher')[-3000:]}"
        ) from None
    elapsed = time.monotonic() - started
    print(f"\n{label} corpus: {len(articles)} files to a final fate in {elapsed:.1f} s")

    files = {f["name"]: f for f in stack.files()}
    assert set(files) == set(articles)  # one ledger row per file, names as dropped
    fates = Counter(f["status"] for f in files.values())
    rejected = {n: (f["reason"], f["detail"]) for n, f in files.items() if f["reason"]}
    assert "failed" not in fates, fates
    assert rejected == {}, rejected
    assert fates["stored"] + fates["duplicate"] == len(articles), fates

    # Every exact group: one stored, the others duplicates of the same document.
    for group in corpus.exact_groups:
        statuses = Counter(files[n]["status"] for n in group)
        assert statuses == {"stored": 1, "duplicate": len(group) - 1}, (group, statuses)
        assert len({files[n]["document_id"] for n in group}) == 1, group
    docs = {
        d["id"]: d
        for d in query(
            stack.database_url,
            "SELECT d.id, d.near_duplicate_of, d.body, d.published_on, f.name"
            " FROM documents d JOIN ingest_files f ON f.id = d.file_id",
        )
    }
    # Every duplicate repeats the article of the file that owns its document, byte for
    # byte or up to what normalisation removes (case, white space, typographic quotes).
    loose = []
    for name, row in files.items():
        if row["status"] == "duplicate":
            owner = docs[row["document_id"]]["name"]
            if articles[owner] != articles[name]:
                assert _normalised(articles[owner]) == _normalised(articles[name]), (name, owner)
                loose.append(name)

    _check_near_duplicates(corpus, files, docs)
    near = sum(1 for d in docs.values() if d["near_duplicate_of"] is not None)
    print(f"fates: {dict(fates)}; {near} near-duplicates; {len(loose)} duplicates up to case,")
    print(f"white space or quotes: {sorted(loose)[:20]}")

    # Files that are not UTF-8 are decoded, not mangled; their date is the helper's.
    assert corpus.latin1
    for name in corpus.latin1:
        doc = docs[files[name]["document_id"]]
        body = doc["body"]
        assert "£" in body and "\ufffd" not in body and "Ã" not in body, name
        assert doc["published_on"] == day_for(articles[name])
        title = articles[name].decode("latin-1").split("\n", 1)[0].strip()
        assert body.startswith(f"{title}\n\n"), name

    wait_for(lambda: not stack.spool_files(), timeout=60, what="an empty spool")
    for key in ("watcher", "worker"):
        assert stack.processes[key].poll() is None, stack.log(key)[-3000:]


def _check_near_duplicates(
    corpus: Case, files: dict[str, dict[str, Any]], docs: dict[int, dict[str, Any]]
) -> None:
    def root(name: str) -> int:
        doc = docs[files[name]["document_id"]]
        return int(doc["near_duplicate_of"] or doc["id"])

    must_link = corpus.must_link()
    assert must_link, "the corpus has no near copies to find"
    missed = [(a, b, corpus.similarity[a, b]) for a, b in must_link if root(a) != root(b)]
    assert not missed, f"near copies not linked: {missed}"
    joined = [(a, b) for a, b in corpus.must_not_link if root(a) == root(b)]
    assert not joined, f"partial copies or rewrites linked as near-duplicates: {joined}"
    # Every link joins a document to a root it really resembles.
    for doc in docs.values():
        if doc["near_duplicate_of"] is not None:
            a, b = sorted((doc["name"], docs[doc["near_duplicate_of"]]["name"]))
            assert corpus.similarity.get((a, b), 0.0) >= LINK_FLOOR, (a, b)


def _normalised(raw: bytes) -> str:
    return normalise(decode(raw))
