"""``ingest reindex``: rebuild the near-duplicate index in index order, in one transaction."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final, cast

from worker import db
from worker.dedupe import index_params
from worker.dedupe.minhash import MinHashParams, fingerprint_normalised
from worker.dedupe.neardup import write_links
from worker.dedupe.normalise import normalise

log = logging.getLogger(__name__)

#: Who may rebuild the index (it truncates the band and signature tables).
REINDEX_LOGIN: Final = (
    "`ingest reindex` clears and rebuilds the index: run it as the schema owner, like "
    "`ingest migrate`."
)
#: Documents per round trip in ``reindex``.
REINDEX_CHUNK: Final = 1000

_Rows = list[tuple[int, str]]


@dataclass(frozen=True, slots=True)
class ReindexReport:
    documents: int
    near_duplicates: int
    relinked: int  # documents whose near_duplicate_of or similarity changed


def reindex(url: str, params: MinHashParams, chunk: int = REINDEX_CHUNK) -> ReindexReport:
    """Rebuild signatures, bands and links of every document with ``params``, in index order.

    One transaction: ingestion waits while it runs, and readers see the old
    links until it commits. Idempotent: a second run changes no document row.
    """
    documents = near = relinked = 0
    with (
        db.connect(url, autocommit=True) as conn,
        db.wrap_errors(denied=REINDEX_LOGIN),
        conn.transaction(),
    ):
        conn.execute(db.query("neardup.reindex_begin"))
        order = [int(str(row[0])) for row in conn.execute(db.query("neardup.reindex_order"))]
        conn.execute(db.query("neardup.reindex_clear"))
        index_params.record(conn, params)
        for start in range(0, len(order), chunk):
            ids = order[start : start + chunk]
            found = conn.execute(db.query("neardup.reindex_chunk"), {"ids": ids}).fetchall()
            bodies = dict(cast(_Rows, found))
            texts = {doc_id: normalise(bodies[doc_id]) for doc_id in ids}
            new = [(doc_id, fingerprint_normalised(texts[doc_id], params)) for doc_id in ids]
            links, changed = write_links(conn, new, params, texts)
            relinked += changed
            documents += len(new)
            near += sum(1 for x in links if x.near_duplicate_of is not None)
        index_params.forget(conn)
    log.info("reindexed %d documents: %d near-duplicates, %d relinked", documents, near, relinked)
    return ReindexReport(documents, near, relinked)
