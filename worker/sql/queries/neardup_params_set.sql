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
