-- Files that reached a fate since a moment: served by ingest_files_status_idx
-- (status, finished_at), so the live line of `ingest up` never scans the ledger.
SELECT status, count(*)
FROM ingest_files
WHERE status = ANY(ARRAY['stored', 'duplicate', 'rejected', 'failed'])
  AND finished_at >= %(since)s
GROUP BY status;
