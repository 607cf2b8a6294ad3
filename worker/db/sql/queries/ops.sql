-- Operator commands: retry, rejected, reprocess.
-- Each query follows a `-- name:` line; code asks for it as area.name.

-- name: files
-- Ledger rows of one fate, optionally narrowed to ids or names (`ingest retry|rejected`).
SELECT id, claim_id, name, status, reason, detail, sha256, records, received_at, finished_at,
       outcome_path
FROM ingest_files
WHERE status = %(status)s
  AND (%(all)s OR id = ANY(%(ids)s::bigint[]) OR name = ANY(%(names)s::text[]))
ORDER BY id;

-- name: retry_reset
-- Back to in flight, as if just claimed: the next registration counts attempt 1.
UPDATE ingest_files
SET status = 'processing', reason = NULL, detail = NULL, document_id = NULL,
    finished_at = NULL, attempts = 0, outcome_path = NULL
WHERE id = %(id)s AND status = 'failed'
RETURNING id;

-- name: rejected_records
-- Rejected records of multi-record files (NDJSON), for `ingest rejected`.
SELECT r.file_id, f.name, r.record_no, r.reason, r.detail
FROM rejections AS r JOIN ingest_files AS f ON f.id = r.file_id
WHERE %(all)s OR r.file_id = ANY(%(ids)s::bigint[])
ORDER BY r.file_id, r.record_no;

-- name: reprocess_documents
-- The documents a file created (it owns them): what `ingest reprocess` may refresh.
SELECT id, record_no, content_sha256 FROM documents WHERE file_id = %(file_id)s;

-- name: reprocess_update
-- Refresh what parsing derives beside the body; a no-op when nothing differs.
UPDATE documents
SET published_on = %(published_on)s, title = %(title)s, url = %(url)s, source = %(source)s,
    word_count = %(word_count)s, language = %(language)s
WHERE id = %(id)s
  AND (published_on, title, url, source, word_count, language)
      IS DISTINCT FROM (%(published_on)s::date, %(title)s::text, %(url)s::text,
                        %(source)s::text, %(word_count)s::int, %(language)s::text)
RETURNING id;


-- name: prunable
-- Files of one fate kept past their retention, by the time they reached it.
SELECT id, claim_id, name, outcome_path, finished_at
FROM ingest_files
WHERE status = %(status)s AND outcome_path IS NOT NULL AND finished_at < %(before)s
ORDER BY id;

-- name: forget_outcome
-- `ingest prune` deleted the file (and its sidecar): it is no longer kept.
UPDATE ingest_files SET outcome_path = NULL WHERE id = %(id)s;
