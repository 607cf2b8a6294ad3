-- Row locks in id order: concurrent tasks for the same files serialise here.
SELECT id, status FROM ingest_files WHERE id = ANY(%(ids)s) ORDER BY id FOR UPDATE;
