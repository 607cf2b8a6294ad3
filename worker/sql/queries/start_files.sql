-- One more start for files in flight that are examined again (alone, after an
-- interruption or a crash; or reset by `ingest retry`).
UPDATE ingest_files SET attempts = attempts + 1
WHERE id = ANY(%(ids)s::bigint[]) AND status = 'processing'
RETURNING id, attempts;
