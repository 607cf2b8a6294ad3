INSERT INTO duplicate_records (file_id, record_no, document_id)
SELECT * FROM unnest(%(file_id)s::bigint[], %(record_no)s::int[], %(document_id)s::bigint[])
ON CONFLICT (file_id, record_no) DO NOTHING;
