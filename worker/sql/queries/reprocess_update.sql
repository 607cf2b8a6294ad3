-- Refresh what parsing derives beside the body; a no-op when nothing differs.
UPDATE documents
SET published_on = %(published_on)s, title = %(title)s, url = %(url)s, source = %(source)s,
    word_count = %(word_count)s, language = %(language)s
WHERE id = %(id)s
  AND (published_on, title, url, source, word_count, language)
      IS DISTINCT FROM (%(published_on)s::date, %(title)s::text, %(url)s::text,
                        %(source)s::text, %(word_count)s::int, %(language)s::text)
RETURNING id;
