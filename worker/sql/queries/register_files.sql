-- Ledger rows for a batch. A row that exists already and is still in flight
-- was interrupted (worker killed, time limit): count the attempt, unless the
-- interruption was a transient error (count_attempts false), which is not the file's fault.
INSERT INTO ingest_files (claim_id, name, received_at)
SELECT * FROM unnest(%(claim_ids)b::text[], %(names)b::text[], %(received_at)b::timestamptz[])
ON CONFLICT (claim_id) DO UPDATE
    SET attempts = ingest_files.attempts
        + (ingest_files.status = 'processing' AND %(count_attempts)b::boolean)::int
RETURNING id, claim_id, status, attempts;
