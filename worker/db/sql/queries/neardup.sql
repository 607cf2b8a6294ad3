-- The near-duplicate index: parameters, locks, candidates, links, rebuild.
-- Each query follows a `-- name:` line; code asks for it as area.name.

-- name: params
-- The recorded parameters (NULL when none) and whether any document exists,
-- from one snapshot: documents and the row they were indexed with commit together.
SELECT p.params, EXISTS (SELECT FROM documents) AS any_document
FROM (VALUES (1)) AS one (x)
LEFT JOIN minhash_params AS p ON true;

-- name: params_init
-- First use of an empty index: record the parameters. A concurrent first use
-- waits here for the other's commit, then keeps its row.
INSERT INTO minhash_params (shingle_size, num_perm, bands, rows, seed, threshold, library, scheme,
                            library_version, algorithm_version, params)
VALUES (%(shingle_size)s, %(num_perm)s, %(bands)s, %(rows)s, %(seed)s, %(threshold)s,
        %(library)s, %(scheme)s, %(library_version)s, %(algorithm_version)s, %(params)s)
ON CONFLICT (singleton) DO NOTHING;

-- name: params_set
-- `ingest reindex`: the index is being rebuilt with these parameters.
INSERT INTO minhash_params (shingle_size, num_perm, bands, rows, seed, threshold, library, scheme,
                            library_version, algorithm_version, params)
VALUES (%(shingle_size)s, %(num_perm)s, %(bands)s, %(rows)s, %(seed)s, %(threshold)s,
        %(library)s, %(scheme)s, %(library_version)s, %(algorithm_version)s, %(params)s)
ON CONFLICT (singleton) DO UPDATE
    SET shingle_size = EXCLUDED.shingle_size, num_perm = EXCLUDED.num_perm,
        bands = EXCLUDED.bands, rows = EXCLUDED.rows, seed = EXCLUDED.seed,
        threshold = EXCLUDED.threshold, library = EXCLUDED.library, scheme = EXCLUDED.scheme,
        library_version = EXCLUDED.library_version,
        algorithm_version = EXCLUDED.algorithm_version, params = EXCLUDED.params,
        built_at = now();

-- name: lock_index
-- The whole index, as a readers-writer lock (the two-int4 advisory key space,
-- apart from the bigint keys of the buckets and the claims): shared by batches
-- that lock their buckets one by one, exclusive for a batch with too many
-- buckets to lock one by one (the lock table is small: max_locks_per_transaction).
-- Held until the transaction ends.
SELECT CASE WHEN %(exclusive)s
            THEN pg_advisory_xact_lock(%(namespace)s::int, 0)
            ELSE pg_advisory_xact_lock_shared(%(namespace)s::int, 0)
       END;

-- name: lock_buckets
-- One exclusive advisory lock per band bucket, held until the transaction ends.
-- The keys arrive sorted and distinct, and unnest yields them in array order,
-- so every batch takes its locks in the same global order: no deadlock.
SELECT count(pg_advisory_xact_lock(k)) FROM unnest(%(keys)s::bigint[]) AS k;

-- name: candidates
-- Indexed documents sharing at least one band key with the batch: the keys
-- they share, their signature and their canonical root.
-- The lateral lookup by primary key (OFFSET 0 keeps the planner from flattening
-- it) is the plan at any table size: a plain join was planned as a hash join over
-- the whole signature table whenever statistics were missing or stale, which
-- made the database's cost per file grow with the table.
SELECT c.document_id, c.band_keys, s.signature, s.root
FROM (SELECT document_id, array_agg(band_key) AS band_keys
      FROM document_bands
      WHERE band_key = ANY(%(keys)s::bigint[])
      GROUP BY document_id) AS c
CROSS JOIN LATERAL (
    SELECT s.signature, coalesce(d.near_duplicate_of, d.id) AS root
    FROM document_signatures AS s
    JOIN documents AS d ON d.id = s.document_id
    WHERE s.document_id = c.document_id
    OFFSET 0
) AS s;

-- name: store
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

-- name: copy_bands
-- Band rows of new documents: one per band (20) per document, so COPY (about twice as fast
-- as INSERT ... SELECT unnest here), as text lines `band_key<TAB>document_id`.
COPY document_bands (band_key, document_id) FROM STDIN;

-- name: reindex_begin
-- `ingest reindex`: no batch may insert documents until the rebuild commits
-- (a batch that already inserted is waited for), and two rebuilds serialise.
LOCK TABLE documents IN SHARE ROW EXCLUSIVE MODE;

-- name: reindex_clear
TRUNCATE document_bands, document_signatures;

-- name: reindex_order
-- Every document, in the order it entered the index. One missing from the index
-- (stored before it existed, or lost) goes where its id puts it: right after
-- the indexed documents of lower ids.
SELECT id
FROM (SELECT d.id, s.indexed, max(s.indexed) OVER (ORDER BY d.id) AS before
      FROM documents AS d LEFT JOIN document_signatures AS s ON s.document_id = d.id) AS o
ORDER BY coalesce(indexed, before, 0), indexed IS NULL, id;

-- name: reindex_chunk
SELECT id, body FROM documents WHERE id = ANY(%(ids)s::bigint[]);

-- name: bodies
-- Indexed documents' bodies, for the exact check of pairs near the threshold.
SELECT id, body FROM documents WHERE id = ANY(%(ids)s::bigint[]);
