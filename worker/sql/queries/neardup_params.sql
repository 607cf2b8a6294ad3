-- The recorded parameters (NULLs when none) and whether any document exists,
-- from one snapshot: documents and the row they were indexed with commit together.
SELECT p.shingle_size, p.num_perm, p.bands, p.rows, p.seed, p.threshold, p.library,
       p.library_version, p.algorithm_version, EXISTS (SELECT FROM documents) AS any_document
FROM (VALUES (1)) AS one (x)
LEFT JOIN minhash_params AS p ON true;
