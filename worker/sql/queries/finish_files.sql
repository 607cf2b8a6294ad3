UPDATE ingest_files AS f
SET status = v.status, reason = v.reason, detail = v.detail, document_id = v.document_id,
    size = v.size, sha256 = v.sha256, records = v.records,
    finished_at = clock_timestamp()  -- the last statement: close to the commit, for latency
FROM unnest(%(ids)s::bigint[], %(status)s::text[], %(reason)s::text[], %(detail)s::text[],
            %(document_id)s::bigint[], %(size)s::bigint[], %(sha256)s::text[],
            %(records)s::int[])
    AS v(id, status, reason, detail, document_id, size, sha256, records)
WHERE f.id = v.id;
