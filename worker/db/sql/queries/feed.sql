-- The change feed (ingest tail and consumers).
-- Each query follows a `-- name:` line; code asks for it as area.name.

-- name: now
-- The cursor for "from now": every transaction below the snapshot's xmin has
-- finished and is behind it; anything that commits from here on is after it.
SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS txid, 0::bigint AS seq;

-- name: read
-- Feed entries after a cursor with their documents, oldest first (see feed_since).
SELECT f.txid::text AS txid, f.seq, f.op, f.recorded_at,
       d.id, d.published_on, d.title, d.body, d.content_sha256, d.file_id, d.record_no,
       d.url, d.source, d.word_count, d.language, d.near_duplicate_of, d.similarity,
       d.ingested_at
FROM feed_since(%(txid)s::xid8, %(seq)s, %(limit)s) AS f
JOIN documents AS d ON d.id = f.document_id
ORDER BY f.txid, f.seq;
