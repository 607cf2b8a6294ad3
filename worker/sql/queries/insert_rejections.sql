INSERT INTO rejections (file_id, record_no, reason, detail)
SELECT * FROM unnest(%(file_id)b::bigint[], %(record_no)b::int[], %(reason)b::text[],
                     %(detail)b::text[])
ON CONFLICT (file_id, record_no) DO NOTHING;
