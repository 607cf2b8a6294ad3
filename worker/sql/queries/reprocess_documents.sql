-- The documents a file created (it owns them): what `ingest reprocess` may refresh.
SELECT id, record_no, content_sha256 FROM documents WHERE file_id = %(file_id)s;
