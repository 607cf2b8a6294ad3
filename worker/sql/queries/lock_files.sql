-- Row locks in id order: concurrent tasks for the same files serialise here.
SELECT id, status FROM ingest_files WHERE id = ANY(%(ids)b) ORDER BY id FOR UPDATE;
