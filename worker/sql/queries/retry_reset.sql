-- Back to in flight, as if just claimed: the next registration counts attempt 1.
UPDATE ingest_files
SET status = 'processing', reason = NULL, detail = NULL, document_id = NULL,
    finished_at = NULL, attempts = 0
WHERE id = %(id)s AND status = 'failed'
RETURNING id;
