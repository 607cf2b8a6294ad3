-- Files that reached a fate in the last minute (index ingest_files_status_idx).
SELECT count(*) FROM ingest_files
WHERE status IN ('stored', 'duplicate', 'rejected', 'failed')
  AND finished_at > now() - interval '1 minute';
