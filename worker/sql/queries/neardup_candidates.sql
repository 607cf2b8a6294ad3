-- Indexed documents sharing at least one band key with the batch: the keys
-- they share, their signature and their canonical root.
SELECT c.document_id, c.band_keys, s.signature, coalesce(d.near_duplicate_of, d.id) AS root
FROM (SELECT document_id, array_agg(band_key) AS band_keys
      FROM document_bands
      WHERE band_key = ANY(%(keys)s::bigint[])
      GROUP BY document_id) AS c
JOIN document_signatures AS s ON s.document_id = c.document_id
JOIN documents AS d ON d.id = c.document_id;
