INSERT INTO rejections (file_id, record_no, reason, detail)
SELECT * FROM unnest(%(file_id)s::bigint[], %(record_no)s::int[], %(reason)s::text[],
                     %(detail)s::text[])
ON CONFLICT (file_id, record_no) DO NOTHING;
