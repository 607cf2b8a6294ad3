-- `ingest reindex`: the index is being rebuilt with these parameters.
INSERT INTO minhash_params (shingle_size, num_perm, bands, rows, seed, threshold, library,
                            library_version, algorithm_version)
VALUES (%(shingle_size)s, %(num_perm)s, %(bands)s, %(rows)s, %(seed)s, %(threshold)s,
        %(library)s, %(library_version)s, %(algorithm_version)s)
ON CONFLICT (singleton) DO UPDATE
    SET shingle_size = EXCLUDED.shingle_size, num_perm = EXCLUDED.num_perm,
        bands = EXCLUDED.bands, rows = EXCLUDED.rows, seed = EXCLUDED.seed,
        threshold = EXCLUDED.threshold, library = EXCLUDED.library,
        library_version = EXCLUDED.library_version,
        algorithm_version = EXCLUDED.algorithm_version, built_at = now();
