-- `ingest status` and the live line of `ingest up`.
-- Each query follows a `-- name:` line; code asks for it as area.name.

-- name: fate_counts
SELECT status, count(*) FROM ingest_files GROUP BY status;

-- name: fates_since
-- Files that reached a fate since a moment: served by ingest_files_status_idx
-- (status, finished_at), so the live line of `ingest up` never scans the ledger.
SELECT status, count(*)
FROM ingest_files
WHERE status = ANY(ARRAY['stored', 'duplicate', 'rejected', 'failed'])
  AND finished_at >= %(since)s
GROUP BY status;

-- name: recent
-- Files that reached a fate in the last minute (index ingest_files_status_idx).
SELECT count(*) FROM ingest_files
WHERE status IN ('stored', 'duplicate', 'rejected', 'failed')
  AND finished_at > now() - interval '1 minute';

-- name: rejections
-- The latest rejected files, newest first, with their reasons.
SELECT id, name, reason, detail, finished_at FROM ingest_files
WHERE status = 'rejected'
ORDER BY finished_at DESC, id DESC
LIMIT %(limit)s;

-- name: clock
-- The server's clock: `ingest up` counts fates from this instant.
SELECT clock_timestamp();
