"""Near-duplicates through the real pipeline and stack, on a real PostgreSQL.

Exact variants, near-copies, chains, the three samples (no false merge), the
parameter check with `ingest reindex`, and concurrent near-copies: one
canonical document per story however the copies race.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psycopg
import pytest

from benchmarks.corpus import load
from benchmarks.dedupe_race import build_groups, dated
from tests.support import Stack, drop_and_claim, ingest_env, query
from worker import db
from worker.dedupe import index_params, rebuild
from worker.dedupe.minhash import MinHashParams, exact_similarity, fingerprint, similarity
from worker.dedupe.neardup import VERIFY_MARGIN
from worker.dedupe.normalise import normalise
from worker.errors import ConfigurationError
from worker.files.claims import Claim
from worker.parse.dated_text import parse
from worker.pipeline.batch import process_batch
from worker.records import ParseOptions
from worker.settings import Settings

PARAMS = MinHashParams()


def make_settings(tmp_path: Path, database_url: str) -> Settings:
    settings = Settings(database_url=database_url, inbox=tmp_path / "inbox", db_pool_size=5)
    settings.spool_dir.mkdir(parents=True, exist_ok=True)
    return settings


def ingest(settings: Settings, name: str, data: bytes | str) -> str:
    """One file as its own batch; returns its fate."""
    report = process_batch(settings, [drop_and_claim(settings, name, data)])
    return next(iter(report.fates.values()))


def execute(url: str, sql: str, params: tuple[Any, ...] = ()) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.encode(), params)


def docs(url: str) -> dict[str, dict[str, Any]]:
    """Documents by the name of the file that stored them."""
    rows = query(
        url,
        "SELECT f.name, d.id, d.near_duplicate_of, d.similarity"
        " FROM documents d JOIN ingest_files f ON f.id = d.file_id ORDER BY d.id",
    )
    return {r["name"]: r for r in rows}


def body_of(data: str) -> str:
    return parse(data, ParseOptions()).body


def estimated(a: str, b: str) -> float:
    """The similarity the workers store: the MinHash estimate, or the exact one near the
    threshold (worker.dedupe.neardup.assign)."""
    estimate = similarity(
        fingerprint(body_of(a), PARAMS).signature, fingerprint(body_of(b), PARAMS).signature
    )
    if abs(estimate - PARAMS.threshold) < VERIFY_MARGIN:
        return exact_similarity(normalise(body_of(a)), normalise(body_of(b)), PARAMS)
    return estimate


def split_header(text: str) -> tuple[str, str]:
    """`date YYYY-MM-DD` and the rest of a dated text."""
    word, date, rest = text.lstrip().split(" ", 2)
    return f"{word} {date}", rest


def headline_and_byline(text: str) -> str:
    header, rest = split_header(text)
    return f"{header} Teigen and Legend thank fans\n\nBy Staff Reporter\n\n{rest}"


def drop_paragraph(text: str, index: int) -> str:
    paras = text.split("\n\n")
    return "\n\n".join(p for i, p in enumerate(paras) if i != index)


def straight_quotes(text: str) -> str:
    for curly, plain in (("\u201c", '"'), ("\u201d", '"'), ("\u2019", "'"), ("\u2018", "'")):
        text = text.replace(curly, plain)
    return text


def test_exact_variants_are_duplicates_of_the_original(
    tmp_path: Path, database_url: str, samples: list[Path]
) -> None:
    settings = make_settings(tmp_path, database_url)
    original = samples[0].read_text("utf-8")
    assert ingest(settings, "original.txt", original) == "stored"
    variants = {
        "crlf.txt": original.replace("\n", "\r\n").encode(),
        "bom.txt": b"\xef\xbb\xbf" + original.encode(),
        "spacing.txt": original.replace(" ", "  ").replace("\n\n", "\n\n\n").encode(),
        "quotes.txt": straight_quotes(original).replace("\u2014", "-").encode(),
    }
    for name, data in variants.items():
        assert ingest(settings, name, data) == "duplicate", name
    (doc,) = query(database_url, "SELECT id, near_duplicate_of FROM documents")
    assert doc["near_duplicate_of"] is None
    rows = query(database_url, "SELECT name, status, document_id FROM ingest_files ORDER BY id")
    assert [(r["name"], r["document_id"]) for r in rows[1:]] == [
        (name, doc["id"]) for name in variants
    ]


def test_near_copies_are_stored_and_linked_to_the_canonical(
    tmp_path: Path, database_url: str, samples: list[Path]
) -> None:
    settings = make_settings(tmp_path, database_url)
    original = samples[0].read_text("utf-8")
    copies = {
        "retitled.txt": headline_and_byline(original),
        "dropped.txt": drop_paragraph(original, 7),
        "quotes-and-byline.txt": straight_quotes(original).rstrip() + "\n\n(Reporting by Staff)\n",
        "all-at-once.txt": straight_quotes(headline_and_byline(drop_paragraph(original, 7))),
    }
    assert ingest(settings, "original.txt", original) == "stored"
    for name, text in copies.items():
        assert ingest(settings, name, text) == "stored", name
    found = docs(database_url)
    root = found["original.txt"]["id"]
    assert found["original.txt"]["near_duplicate_of"] is None
    earlier = [original]
    for name, text in copies.items():
        assert found[name]["near_duplicate_of"] == root, name
        # The similarity with the best match: the original or an earlier copy.
        best = max(estimated(text, other) for other in earlier)
        assert 0.8 <= found[name]["similarity"] == pytest.approx(best, abs=1e-6)
        # Not an exact copy, however close the estimate comes to 1.0.
        exact = [
            exact_similarity(normalise(body_of(text)), normalise(body_of(o)), PARAMS)
            for o in earlier
        ]
        assert max(exact) < 1.0
        earlier.append(text)
    # Every document is in the index: its signature and one row per band.
    counts = query(
        database_url,
        "SELECT (SELECT count(*) FROM document_signatures) AS signatures,"
        " (SELECT count(*) FROM document_bands) AS bands",
    )[0]
    assert counts == {"signatures": 5, "bands": 5 * PARAMS.bands}


def chain(samples: list[Path]) -> tuple[str, str, str]:
    """a ~ b ~ c with a !~ c: b rewrites a's ending, c drops b's opening."""
    a = samples[1].read_text("utf-8").strip()
    paras = a.split("\n\n")
    b = "\n\n".join(paras[:-3]) + "\n\nThe couple have since welcomed two more children."
    header, _first = split_header(paras[0])
    c = header + " " + b.split("\n\n", 1)[1]
    assert estimated(b, a) >= 0.8 and estimated(c, b) >= 0.8 and estimated(c, a) < 0.8
    return a, b, c


def test_a_chain_collapses_to_its_root(
    tmp_path: Path, database_url: str, samples: list[Path]
) -> None:
    settings = make_settings(tmp_path, database_url)
    a, b, c = chain(samples)
    for name, text in (("a.txt", a), ("b.txt", b), ("c.txt", c)):
        assert ingest(settings, name, text) == "stored"
    found = docs(database_url)
    root = found["a.txt"]["id"]
    assert [found[n]["near_duplicate_of"] for n in ("a.txt", "b.txt", "c.txt")] == [
        None,
        root,
        root,
    ]
    # c's similarity is with b, the document that matched, not with the root.
    assert found["c.txt"]["similarity"] == pytest.approx(estimated(c, b), abs=1e-6)


def test_a_chain_within_one_batch_gives_one_canonical(
    tmp_path: Path, database_url: str, samples: list[Path]
) -> None:
    settings = make_settings(tmp_path, database_url)
    claims = [
        drop_and_claim(settings, name, text)
        for name, text in zip(("a.txt", "b.txt", "c.txt"), chain(samples), strict=True)
    ]
    assert sorted(process_batch(settings, claims).fates.values()) == ["stored"] * 3
    found = docs(database_url).values()
    (canonical,) = [d for d in found if d["near_duplicate_of"] is None]
    assert canonical["id"] == min(d["id"] for d in found)  # the earliest document
    assert all(d["near_duplicate_of"] == canonical["id"] for d in found if d is not canonical)


def test_samples_stay_three_stories_through_the_stack(stack: Stack, samples: list[Path]) -> None:
    stack.start()
    for path in samples:
        stack.drop(path.name, path.read_bytes())
    assert {f["status"] for f in stack.wait_finished(3)} == {"stored"}
    near = headline_and_byline(samples[2].read_text("utf-8"))
    stack.drop("near-copy.txt", near)
    stack.drop("exact-copy.txt", samples[1].read_bytes().replace(b"\n", b"\r\n"))
    files = {f["name"]: f for f in stack.wait_finished(5)}
    found = docs(stack.database_url)
    assert len(found) == 4
    canonical = {n for n, d in found.items() if d["near_duplicate_of"] is None}
    assert canonical == {p.name for p in samples}  # no false merge
    assert found["near-copy.txt"]["near_duplicate_of"] == found[samples[2].name]["id"]
    assert files["exact-copy.txt"]["status"] == "duplicate"
    assert files["exact-copy.txt"]["document_id"] == found[samples[1].name]["id"]


def links(url: str) -> list[dict[str, Any]]:
    return query(url, "SELECT id, near_duplicate_of, similarity FROM documents ORDER BY id")


def index_rows(url: str) -> list[dict[str, Any]]:
    return query(
        url,
        "SELECT b.document_id, array_agg(b.band_key ORDER BY b.band_key) AS keys, s.signature"
        " FROM document_bands b JOIN document_signatures s USING (document_id)"
        " GROUP BY b.document_id, s.signature ORDER BY b.document_id",
    )


def test_other_parameters_are_refused_until_reindex(
    tmp_path: Path, database_url: str, samples: list[Path]
) -> None:
    settings = make_settings(tmp_path, database_url)
    original = samples[0].read_text("utf-8")
    ingest(settings, "original.txt", original)
    ingest(settings, "copy.txt", headline_and_byline(original))
    ingest(settings, "other.txt", samples[1].read_bytes())
    before, index_before = links(database_url), index_rows(database_url)

    # An index built with another seed: this worker must not add to it.
    execute(
        database_url,
        "UPDATE minhash_params SET seed = 7, params = jsonb_set(params, '{seed}', '7')",
    )
    late = drop_and_claim(settings, "late.txt", samples[2].read_bytes())
    with pytest.raises(ConfigurationError, match=r"seed=7 .*ingest reindex"):
        process_batch(settings, [late])
    with psycopg.connect(database_url) as conn:
        index_params.forget(conn)  # a fresh process: the first-use check refuses too
    with pytest.raises(ConfigurationError, match="seed=7"):
        process_batch(settings, [late])
    assert len(links(database_url)) == 3
    status = query(database_url, "SELECT status FROM ingest_files WHERE name = 'late.txt'")
    assert status == [{"status": "processing"}]  # left in the spool, taken again later

    done = subprocess.run(
        [sys.executable, "-m", "worker", "reindex"],
        env=ingest_env(INGEST_DATABASE_URL=database_url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "reindexed 3 documents: 1 near-duplicates, 0 links changed" in done.stdout
    stored = query(database_url, "SELECT seed, num_perm, bands, params FROM minhash_params")[0]
    stored_shape = (int(stored["seed"]), stored["num_perm"], stored["bands"])
    assert stored_shape == (42, PARAMS.num_perm, PARAMS.bands)
    assert stored["params"] == PARAMS.as_dict()
    assert links(database_url) == before and index_rows(database_url) == index_before
    assert process_batch(settings, [late]).fates == {late.claim_id: "stored"}


def test_a_first_batch_that_rolls_back_records_nothing_stale(
    tmp_path: Path, database_url: str, samples: list[Path]
) -> None:
    settings = make_settings(tmp_path, database_url)
    with psycopg.connect(database_url) as conn:
        index_params.ensure_params(conn, PARAMS)  # records the parameters ...
        conn.rollback()  # ... in a transaction that does not commit
    assert query(database_url, "SELECT count(*) AS n FROM minhash_params") == [{"n": 0}]
    assert ingest(settings, "a.txt", samples[0].read_bytes()) == "stored"
    assert query(database_url, "SELECT count(*) AS n FROM minhash_params") == [{"n": 1}]


def test_reindex_relinks_and_is_idempotent(
    tmp_path: Path, database_url: str, samples: list[Path]
) -> None:
    settings = make_settings(tmp_path, database_url)
    a, b, c = chain(samples)
    for name, text in (("a.txt", a), ("b.txt", b), ("c.txt", c)):
        ingest(settings, name, text)
    ingest(settings, "other.txt", samples[0].read_bytes())
    expected = links(database_url)
    # Damage the index: a lost link, a stale band row, a missing signature.
    execute(database_url, "UPDATE documents SET near_duplicate_of = NULL, similarity = NULL")
    execute(database_url, "INSERT INTO document_bands VALUES (1, 999999)")
    execute(
        database_url, "DELETE FROM document_signatures WHERE document_id = %s", (expected[0]["id"],)
    )
    first = rebuild.reindex(database_url, PARAMS, chunk=2)  # chunks: links across them too
    assert (first.documents, first.near_duplicates, first.relinked) == (4, 2, 2)
    assert links(database_url) == expected
    rows = index_rows(database_url)
    again = rebuild.reindex(database_url, PARAMS)
    assert (again.documents, again.near_duplicates, again.relinked) == (4, 2, 0)
    assert links(database_url) == expected and index_rows(database_url) == rows


def check_groups(url: str, groups: int) -> None:
    """Each group `gNNNN/...` has exactly one canonical document, which all its copies name."""
    rows = query(
        url,
        "SELECT f.name, d.id, d.near_duplicate_of FROM ingest_files f"
        " JOIN documents d ON d.id = f.document_id",
    )
    roots: dict[str, set[int]] = {}
    canonical: dict[str, set[int]] = {}
    for r in rows:
        group = r["name"].split("/")[0]
        roots.setdefault(group, set()).add(r["near_duplicate_of"] or r["id"])
        if r["near_duplicate_of"] is None:
            canonical.setdefault(group, set()).add(r["id"])
    assert len(roots) == groups
    bad = {g: sorted(c) for g, c in canonical.items() if len(c) != 1}
    assert not bad, f"groups with several canonical documents: {bad}"
    assert all(roots[g] == canonical[g] for g in roots)
    # Links name a canonical document indexed before them: chains collapsed, index order kept.
    broken = query(
        url,
        "SELECT d.id FROM documents d JOIN documents r ON r.id = d.near_duplicate_of"
        " JOIN document_signatures ds ON ds.document_id = d.id"
        " JOIN document_signatures rs ON rs.document_id = r.id"
        " WHERE r.near_duplicate_of IS NOT NULL OR rs.indexed > ds.indexed",
    )
    assert broken == []


def group_files(groups: int) -> list[list[bytes]]:
    # Stories from the generated corpus: a clone needs nothing else.
    return [[dated(text) for text in group] for group in build_groups(load(), groups)]


def test_concurrent_batches_keep_one_canonical_per_story(tmp_path: Path, database_url: str) -> None:
    # Four threads, each with one copy of every story, in batches of 1, 3, 6 and
    # 12 files (12 documents take the whole-index lock; the others lock buckets):
    # the copies of a story are processed at the same moment by different batches.
    groups = 40
    settings = make_settings(tmp_path, database_url)
    lanes: list[list[Claim]] = [[] for _ in range(4)]
    for g, copies in enumerate(group_files(groups)):
        for c, data in enumerate(copies):
            lanes[c].append(drop_and_claim(settings, f"g{g:04d}/c{c}.txt", data))
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def run(lane: Sequence[Claim], size: int) -> None:
        try:
            start.wait()
            for i in range(0, len(lane), size):
                process_batch(settings, lane[i : i + size])
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=(lane, size))
        for lane, size in zip(lanes, (1, 3, 6, 12), strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert query(database_url, "SELECT DISTINCT status FROM ingest_files") == [{"status": "stored"}]
    check_groups(database_url, groups)


def test_worker_processes_racing_on_copies_keep_one_canonical(
    tmp_path: Path, database_url: str, broker_url: str
) -> None:
    # The real stack: one file per task, four pool processes, copies of a story adjacent.
    groups = 12
    running = Stack(tmp_path, database_url, broker_url, INGEST_BATCH_MAX_FILES="1")
    running.env["INGEST_CONCURRENCY"] = "4"
    try:
        running.start(watcher=False)
        for g, copies in enumerate(group_files(groups)):
            for c, data in enumerate(copies):
                running.drop(f"g{g:04d}/c{c}.txt", data)
        running.start_process("watcher", "watch")
        running.wait_finished(groups * 4, timeout=120)
    finally:
        running.stop()
    check_groups(database_url, groups)


def test_candidates_look_up_signatures_by_key_whatever_the_statistics(database_url: str) -> None:
    """Before the first ANALYZE (a fresh database, a burst) the planner guessed the
    candidates were the whole band table and hashed the whole signature table for
    every batch: the database's cost per file grew with the table. The lookup must
    go by primary key, generic plan or custom, analysed or not."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO ingest_files (claim_id, name) "
            "SELECT 'c' || n, 'f' || n FROM generate_series(1, 20000) AS n"
        )
        conn.execute(
            "INSERT INTO documents (body, content_sha256, file_id, word_count) "
            "SELECT 'b' || id, lpad(to_hex(id), 64, '0'), id, 1 FROM ingest_files"
        )
        conn.execute(
            "INSERT INTO document_signatures (document_id, signature) "
            "SELECT id, '\\x00'::bytea FROM documents"
        )
        conn.execute(
            "INSERT INTO document_bands (band_key, document_id) "
            "SELECT (id * 20 + b) * 7919, id FROM documents, generate_series(0, 19) AS b"
        )
        sql = db.query("neardup.candidates").as_string(None).replace("%(keys)s", "$1")
        keys = "{" + ",".join(str(k * 104729) for k in range(4000)) + "}"
        plans = []
        for analysed in (False, True):
            if analysed:
                conn.execute("ANALYZE")
            for mode in ("force_generic_plan", "force_custom_plan"):
                conn.execute(f"SET plan_cache_mode = {mode}")
                conn.execute(f"PREPARE candidates (bigint[]) AS {sql}")
                rows = conn.execute(f"EXPLAIN EXECUTE candidates ('{keys}')").fetchall()
                conn.execute("DEALLOCATE candidates")
                plans.append("\n".join(row[0] for row in rows))
    for plan in plans:
        assert "document_signatures_pkey" in plan, plan
        assert "Seq Scan on document_signatures" not in plan, plan
        assert "Seq Scan on documents" not in plan, plan
