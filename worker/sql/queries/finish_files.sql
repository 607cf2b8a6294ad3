UPDATE ingest_files AS f
SET status = v.status, reason = v.reason, detail = v.detail, document_id = v.document_id,
    size = v.size, sha256 = v.sha256, records = v.records,
    finished_at = clock_timestamp()  -- the last statement: close to the commit, for latency
FROM unnest(%(ids)b::bigint[], %(status)b::text[], %(reason)b::text[], %(detail)b::text[],
            %(document_id)b::bigint[], %(size)b::bigint[], %(sha256)b::text[],
            %(records)b::int[])
    AS v(id, status, reason, detail, document_id, size, sha256, records)
WHERE f.id = v.id;
