-- Ledger rows of one fate, optionally narrowed to ids or names (`ingest retry|rejected`).
SELECT id, claim_id, name, status, reason, detail, sha256, records, received_at, finished_at
FROM ingest_files
WHERE status = %(status)s
  AND (%(all)s OR id = ANY(%(ids)s::bigint[]) OR name = ANY(%(names)s::text[]))
ORDER BY id;
