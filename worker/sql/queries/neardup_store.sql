-- Index new documents (signature and band rows) and record their links.
-- Only rows whose link changes are updated: a canonical document stays as
-- inserted, and a rebuild that changes nothing writes no document row.
WITH signatures AS (
    INSERT INTO document_signatures (document_id, signature)
    SELECT * FROM unnest(%(ids)s::bigint[], %(signatures)s::bytea[])
    ON CONFLICT (document_id) DO UPDATE SET signature = EXCLUDED.signature
), bands AS (
    INSERT INTO document_bands (band_key, document_id)
    SELECT * FROM unnest(%(band_keys)s::bigint[], %(band_documents)s::bigint[])
    ON CONFLICT DO NOTHING
)
UPDATE documents AS d
SET near_duplicate_of = v.near_duplicate_of, similarity = v.similarity
FROM unnest(%(ids)s::bigint[], %(near_duplicate_of)s::bigint[], %(similarity)s::real[])
    AS v(id, near_duplicate_of, similarity)
WHERE d.id = v.id
  AND (d.near_duplicate_of, d.similarity) IS DISTINCT FROM (v.near_duplicate_of, v.similarity);
