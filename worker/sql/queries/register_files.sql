-- Ledger rows for a batch. A row that exists already and is still in flight
-- was interrupted (worker killed, time limit): count the attempt.
INSERT INTO ingest_files (claim_id, name, received_at)
SELECT * FROM unnest(%(claim_ids)s::text[], %(names)s::text[], %(received_at)s::timestamptz[])
ON CONFLICT (claim_id) DO UPDATE
    SET attempts = ingest_files.attempts + (ingest_files.status = 'processing')::int
RETURNING id, claim_id, status, attempts;
