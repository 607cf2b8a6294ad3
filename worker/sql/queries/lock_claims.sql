-- Session-level advisory lock per claim: held while one task processes the file,
-- released by PostgreSQL if that worker dies. A claim that is locked elsewhere
-- is being processed right now by a live task and is skipped here.
SELECT c.claim_id
FROM unnest(%(claim_ids)b::text[]) AS c(claim_id)
WHERE pg_try_advisory_lock(hashtextextended('ingest.claim:' || c.claim_id, 0));
