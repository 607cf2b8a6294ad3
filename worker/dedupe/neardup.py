"""The near-duplicate index in PostgreSQL, shared by every worker, safe under concurrency.

Each document has a MinHash signature (``document_signatures``) and one row
per LSH band key (``document_bands``). A new document is a near-duplicate when
an indexed document shares a band key with it and their estimated Jaccard
similarity reaches the threshold; it then points at the canonical root of the
best match (``near_duplicate_of``: chains collapse, so a link always names a
canonical document) with that similarity. Otherwise it is canonical.

The batch transaction runs, in this order (every batch alike, so no deadlock):

1. ledger rows ``FOR UPDATE`` in id order, the documents insert sorted by
   content key (``ON CONFLICT``: a second inserter of a key waits for the
   first's commit), the files' fates (``worker.pipeline.store``);
2. ``link``, last: transaction-level advisory locks. A batch with at most
   ``BUCKET_LOCK_LIMIT`` distinct band keys takes the index lock shared, then
   one exclusive lock per band key, sorted; a bigger batch takes the index
   lock exclusive instead (one lock rather than thousands: the lock table
   holds ``max_locks_per_transaction`` x connections entries, about 6,400 by
   default). Two batches that could link to each other share a band key, so
   one waits for the other's commit and then sees its documents. Then it
   checks the recorded parameters (a rebuild may have committed meanwhile),
   reads the candidates (committed documents only), decides in Python, and
   writes signatures and links (one statement) and band rows (one COPY).

The locks are held only from the candidates to the commit: documents, fates
and everything else of two batches run side by side. A document is linked to
what was indexed before it; index order, recorded as
``document_signatures.indexed``, is what a rebuild (``reindex``) follows to
reproduce the links (``worker.dedupe.rebuild``).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import psycopg

from worker import db
from worker.dedupe import index_params
from worker.dedupe.minhash import (
    Fingerprint,
    MinHashParams,
    exact_similarity,
    signature_from_bytes,
    signature_to_bytes,
    similarity,
)
from worker.dedupe.normalise import normalise

log = logging.getLogger(__name__)

#: An estimate this close to the threshold is checked against the exact similarity:
#: with 120 slots the estimate's standard deviation near 0.8 is about 0.037.
VERIFY_MARGIN: Final = 0.1
#: (new document id, other document id) -> their exact similarity.
Exact = Callable[[int, int], float]
#: Above this many distinct band keys (12 documents), a batch locks the whole index.
BUCKET_LOCK_LIMIT: Final = 256
#: First half of the two-int4 advisory key of the index lock ("ND").
LOCK_NAMESPACE: Final = 0x4E44


@dataclass(frozen=True, slots=True)
class Candidate:
    """An indexed document sharing band keys with the batch."""

    document_id: int
    band_keys: Sequence[int]
    signature: Sequence[int]
    root: int


@dataclass(frozen=True, slots=True)
class Link:
    document_id: int
    near_duplicate_of: int | None  # the canonical root; None: canonical itself
    similarity: float | None  # Jaccard with the best match (estimated, or exact near the threshold)


# -- the batch ----------------------------------------------------------------


def lock(
    conn: psycopg.Connection[Any], prints: Iterable[Fingerprint], params: MinHashParams
) -> None:
    """Lock the band buckets of a batch, in its transaction (``link`` does)."""
    keys = {key for p in prints for key in p.band_keys}
    if not keys:
        return
    index_params.ensure_params(conn, params)
    whole = len(keys) > BUCKET_LOCK_LIMIT
    conn.execute(db.query("neardup.lock_index"), {"exclusive": whole, "namespace": LOCK_NAMESPACE})
    if not whole:
        conn.execute(db.query("neardup.lock_buckets"), {"keys": _int_array(sorted(keys))})


def link(
    conn: psycopg.Connection[Any],
    new: Sequence[tuple[int, Fingerprint]],
    params: MinHashParams,
    texts: dict[int, str],
) -> None:
    """Index documents just inserted (id, fingerprint) and link their near-duplicates.

    ``texts``: the new documents' normalised bodies, by id, for exact checks.
    """
    if not new:
        return
    lock(conn, [p for _id, p in new], params)
    index_params.verify(conn, params)
    links, _changed = write_links(conn, new, params, texts)
    linked = sum(1 for x in links if x.near_duplicate_of is not None)
    if linked:
        log.info("%d of %d new documents are near-duplicates", linked, len(new))


def write_links(
    conn: psycopg.Connection[Any],
    new: Sequence[tuple[int, Fingerprint]],
    params: MinHashParams,
    texts: dict[int, str],
) -> tuple[list[Link], int]:
    """Decide and write the links of ``new``; returns them and the document rows changed.

    The caller holds the index locks (``lock``), or the whole index (a rebuild).
    """
    keys = _int_array({key for _id, p in new for key in p.band_keys})
    candidates = [
        Candidate(doc_id, band_keys, signature_from_bytes(signature), root)
        for doc_id, band_keys, signature, root in conn.execute(
            db.query("neardup.candidates"), {"keys": keys}
        )
    ]
    known = dict(texts)
    # Bodies of the indexed documents an exact check may need, in one round trip.
    wanted = _borderline(new, candidates, params.threshold)
    if wanted:
        for doc_id, body in conn.execute(db.query("neardup.bodies"), {"ids": sorted(wanted)}):
            known[int(doc_id)] = normalise(str(body))

    def text(doc_id: int) -> str:
        return known.get(doc_id, "")

    def exact(a: int, b: int) -> float:
        return exact_similarity(text(a), text(b), params)

    links = assign(new, candidates, params.threshold, exact)
    by_id = {x.document_id: x for x in links}
    changed = conn.execute(
        db.query("neardup.store"),
        {
            "ids": [doc_id for doc_id, _p in new],
            "signatures": [signature_to_bytes(p.signature) for _id, p in new],
            "near_duplicate_of": [by_id[doc_id].near_duplicate_of for doc_id, _p in new],
            "similarity": [by_id[doc_id].similarity for doc_id, _p in new],
        },
    ).rowcount
    rows = "".join(f"{key}\t{doc_id}\n" for doc_id, p in new for key in p.band_keys)
    with conn.cursor().copy(db.query("neardup.copy_bands")) as copy:
        copy.write(rows)
    return links, changed


def _borderline(
    new: Sequence[tuple[int, Fingerprint]], candidates: Sequence[Candidate], threshold: float
) -> set[int]:
    """Indexed documents whose estimated similarity to a new one is within the margin."""
    by_key: dict[int, list[Candidate]] = defaultdict(list)
    for c in candidates:
        for key in c.band_keys:
            by_key[key].append(c)
    found: set[int] = set()
    for _doc_id, print_ in new:
        seen: set[int] = set()
        for key in print_.band_keys:
            for c in by_key.get(key, ()):
                if c.document_id not in seen:
                    seen.add(c.document_id)
                    if abs(similarity(print_.signature, c.signature) - threshold) < VERIFY_MARGIN:
                        found.add(c.document_id)
    return found


def _int_array(values: Iterable[int]) -> str:
    # A PostgreSQL array literal: thousands of band keys per batch format in
    # C here and parse in C there; psycopg's list adapter loops in Python.
    return "{" + ",".join(map(str, values)) + "}"


def assign(
    new: Sequence[tuple[int, Fingerprint]],
    candidates: Iterable[Candidate],
    threshold: float,
    exact: Exact | None = None,
) -> list[Link]:
    """Decide the links of new documents, in the order given, against indexed ones and each other.

    The best match is the candidate of highest similarity at or above
    ``threshold`` (the lower id on a tie); the link names its root. The
    similarity is the MinHash estimate, or, within ``VERIFY_MARGIN`` of the
    threshold where the estimate's noise could decide, the exact one (``exact``).
    """
    by_key: dict[int, list[int]] = defaultdict(list)
    signatures: dict[int, Sequence[int]] = {}
    roots: dict[int, int] = {}
    for c in candidates:
        signatures[c.document_id] = c.signature
        roots[c.document_id] = c.root
        for key in c.band_keys:
            by_key[key].append(c.document_id)
    links = []
    for doc_id, print_ in new:
        signature = print_.signature
        best: tuple[float, int] | None = None
        seen: set[int] = set()
        # One pass per key: compare with the bucket, then join it. A document's
        # band keys are distinct, so it never meets itself.
        for key in print_.band_keys:
            bucket = by_key[key]
            for other in bucket:
                if other in seen:
                    continue
                seen.add(other)
                score = similarity(signature, signatures[other])
                if exact is not None and abs(score - threshold) < VERIFY_MARGIN:
                    score = exact(doc_id, other)
                if score >= threshold and (
                    best is None or score > best[0] or (score == best[0] and other < best[1])
                ):
                    best = (score, other)
            bucket.append(doc_id)
        signatures[doc_id] = signature
        if best is None:
            roots[doc_id] = doc_id
            links.append(Link(doc_id, None, None))
        else:
            roots[doc_id] = roots[best[1]]
            links.append(Link(doc_id, roots[doc_id], best[0]))
    return links
