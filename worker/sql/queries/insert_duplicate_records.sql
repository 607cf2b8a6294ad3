INSERT INTO duplicate_records (file_id, record_no, document_id)
SELECT * FROM unnest(%(file_id)b::bigint[], %(record_no)b::int[], %(document_id)b::bigint[])
ON CONFLICT (file_id, record_no) DO NOTHING;
