-- The recorded parameters (NULL when none) and whether any document exists,
-- from one snapshot: documents and the row they were indexed with commit together.
SELECT p.params, EXISTS (SELECT FROM documents) AS any_document
FROM (VALUES (1)) AS one (x)
LEFT JOIN minhash_params AS p ON true;
