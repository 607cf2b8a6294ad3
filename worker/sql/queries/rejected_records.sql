-- Rejected records of multi-record files (NDJSON), for `ingest rejected`.
SELECT r.file_id, f.name, r.record_no, r.reason, r.detail
FROM rejections AS r JOIN ingest_files AS f ON f.id = r.file_id
WHERE %(all)s OR r.file_id = ANY(%(ids)s::bigint[])
ORDER BY r.file_id, r.record_no;
