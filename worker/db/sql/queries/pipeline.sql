-- The pipeline's queries: claims, the ledger, documents, per-record fates.
-- Each query follows a `-- name:` line; code asks for it as area.name.

-- name: lock_claims
-- Session-level advisory lock per claim: held while one task processes the file,
-- released by PostgreSQL if that worker dies. A claim that is locked elsewhere
-- is being processed right now by a live task and is skipped here.
SELECT c.claim_id
FROM unnest(%(claim_ids)b::text[]) AS c(claim_id)
WHERE pg_try_advisory_lock(hashtextextended('ingest.claim:' || c.claim_id, 0));

-- name: unlock_claims
-- The batch is done (or gave up): release its claims' locks for the next task.
SELECT pg_advisory_unlock_all();

-- name: register_files
-- Ledger rows for a batch. `attempts` counts the times processing of a file started:
-- a new row starts at 1. A row that exists already and is still in flight started
-- before and did not finish (worker killed, time limit, crash, or waiting to be
-- retried alone): the pipeline decides whether this is a new start (start_files).
INSERT INTO ingest_files (claim_id, name, received_at)
SELECT * FROM unnest(%(claim_ids)b::text[], %(names)b::text[], %(received_at)b::timestamptz[])
ON CONFLICT (claim_id) DO UPDATE SET attempts = ingest_files.attempts
RETURNING id, claim_id, status, attempts, (xmax = 0) AS inserted;

-- name: start_files
-- One more start for files in flight that are examined again (alone, after an
-- interruption or a crash; or reset by `ingest retry`).
UPDATE ingest_files SET attempts = attempts + 1
WHERE id = ANY(%(ids)s::bigint[]) AND status = 'processing'
RETURNING id, attempts;

-- name: lock_files
-- Row locks in id order: concurrent tasks for the same files serialise here.
SELECT id, status, document_id, outcome_path FROM ingest_files
WHERE id = ANY(%(ids)b) ORDER BY id FOR UPDATE;

-- name: insert_documents
-- Sorted by key so that concurrent batches take unique-index locks in one order.
INSERT INTO documents (published_on, title, body, content_sha256, file_id, record_no,
                       url, source, word_count, language)
SELECT * FROM unnest(%(published_on)b::date[], %(title)b::text[], %(body)b::text[],
                     %(content_sha256)b::text[], %(file_id)b::bigint[], %(record_no)b::int[],
                     %(url)b::text[], %(source)b::text[], %(word_count)b::int[],
                     %(language)b::text[])
    AS t(published_on, title, body, content_sha256, file_id, record_no, url, source,
         word_count, language)
ORDER BY content_sha256
ON CONFLICT (content_sha256) DO NOTHING
RETURNING id, content_sha256;

-- name: find_documents
-- char(64)[]: compared as text the unique index would not be used (a scan per batch).
SELECT id, content_sha256 FROM documents WHERE content_sha256 = ANY(%(keys)b::char(64)[]);

-- name: finish_files
UPDATE ingest_files AS f
SET status = v.status, reason = v.reason, detail = v.detail, document_id = v.document_id,
    size = v.size, sha256 = v.sha256, records = v.records, outcome_path = v.outcome_path,
    finished_at = clock_timestamp()  -- the last statement: close to the commit, for latency
FROM unnest(%(ids)b::bigint[], %(status)b::text[], %(reason)b::text[], %(detail)b::text[],
            %(document_id)b::bigint[], %(size)b::bigint[], %(sha256)b::text[],
            %(records)b::int[], %(outcome_path)b::text[])
    AS v(id, status, reason, detail, document_id, size, sha256, records, outcome_path)
WHERE f.id = v.id;

-- name: insert_rejections
INSERT INTO rejections (file_id, record_no, reason, detail)
SELECT * FROM unnest(%(file_id)b::bigint[], %(record_no)b::int[], %(reason)b::text[],
                     %(detail)b::text[])
ON CONFLICT (file_id, record_no) DO NOTHING;

-- name: insert_duplicate_records
INSERT INTO duplicate_records (file_id, record_no, document_id)
SELECT * FROM unnest(%(file_id)b::bigint[], %(record_no)b::int[], %(document_id)b::bigint[])
ON CONFLICT (file_id, record_no) DO NOTHING;

-- name: refund_attempts
-- Files that changed after their claim (a writer still at work) go back to wait:
-- that look was not a start.
UPDATE ingest_files SET attempts = attempts - 1
WHERE id = ANY(%(ids)s::bigint[]) AND status = 'processing' AND attempts > 0;

-- name: finished_rows
-- Files with a fate whose move is still to do (a twin task, a crash after the
-- commit, a full disk): what their sidecar and move need.
SELECT id, claim_id, name, status, reason, detail, sha256, received_at, outcome_path
FROM ingest_files WHERE id = ANY(%(ids)s::bigint[]);

-- name: record_rejections
-- The rejected records of these files, for their sidecars.
SELECT file_id, record_no AS record, reason, detail
FROM rejections WHERE file_id = ANY(%(ids)s::bigint[])
ORDER BY file_id, record_no;

-- name: set_outcome_path
-- The recorded outcome path was taken meanwhile: the claim's own name instead
-- (recorded before the move, so the ledger never names someone else's file).
UPDATE ingest_files SET outcome_path = %(path)s WHERE id = %(id)s;
