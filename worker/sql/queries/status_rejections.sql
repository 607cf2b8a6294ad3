-- The latest rejected files, newest first, with their reasons.
SELECT id, name, reason, detail, finished_at FROM ingest_files
WHERE status = 'rejected'
ORDER BY finished_at DESC, id DESC
LIMIT %(limit)s;
