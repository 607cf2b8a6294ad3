-- Ledger rows for a batch. `attempts` counts the times processing of a file started:
-- a new row starts at 1. A row that exists already and is still in flight started
-- before and did not finish (worker killed, time limit, crash, or waiting to be
-- retried alone): the pipeline decides whether this is a new start (start_files).
INSERT INTO ingest_files (claim_id, name, received_at)
SELECT * FROM unnest(%(claim_ids)b::text[], %(names)b::text[], %(received_at)b::timestamptz[])
ON CONFLICT (claim_id) DO UPDATE SET attempts = ingest_files.attempts
RETURNING id, claim_id, status, attempts, (xmax = 0) AS inserted;
