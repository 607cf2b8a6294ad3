-- Sorted by key so that concurrent batches take unique-index locks in one order.
INSERT INTO documents (published_on, title, body, content_sha256, file_id, record_no,
                       url, source, word_count, language)
SELECT * FROM unnest(%(published_on)s::date[], %(title)s::text[], %(body)s::text[],
                     %(content_sha256)s::text[], %(file_id)s::bigint[], %(record_no)s::int[],
                     %(url)s::text[], %(source)s::text[], %(word_count)s::int[],
                     %(language)s::text[])
    AS t(published_on, title, body, content_sha256, file_id, record_no, url, source,
         word_count, language)
ORDER BY content_sha256
ON CONFLICT (content_sha256) DO NOTHING
RETURNING id, content_sha256;
