-- Sorted by key so that concurrent batches take unique-index locks in one order.
INSERT INTO documents (published_on, title, body, content_sha256, file_id, record_no,
                       url, source, word_count, language)
SELECT * FROM unnest(%(published_on)b::date[], %(title)b::text[], %(body)b::text[],
                     %(content_sha256)b::text[], %(file_id)b::bigint[], %(record_no)b::int[],
                     %(url)b::text[], %(source)b::text[], %(word_count)b::int[],
                     %(language)b::text[])
    AS t(published_on, title, body, content_sha256, file_id, record_no, url, source,
         word_count, language)
ORDER BY content_sha256
ON CONFLICT (content_sha256) DO NOTHING
RETURNING id, content_sha256;
