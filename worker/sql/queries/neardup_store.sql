-- Store the signatures of new documents and record their links. Only rows
-- whose link changes are updated: a canonical document stays as inserted, and
-- a rebuild that changes nothing writes no document row.
WITH signatures AS (
    INSERT INTO document_signatures (document_id, signature)
    SELECT * FROM unnest(%(ids)b::bigint[], %(signatures)b::bytea[])
)
UPDATE documents AS d
SET near_duplicate_of = v.near_duplicate_of, similarity = v.similarity
FROM unnest(%(ids)b::bigint[], %(near_duplicate_of)b::bigint[], %(similarity)b::real[])
    AS v(id, near_duplicate_of, similarity)
WHERE d.id = v.id
  AND (d.near_duplicate_of, d.similarity) IS DISTINCT FROM (v.near_duplicate_of, v.similarity);
