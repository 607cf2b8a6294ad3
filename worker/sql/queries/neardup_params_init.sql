-- First use of an empty index: record the parameters. A concurrent first use
-- waits here for the other's commit, then keeps its row.
INSERT INTO minhash_params (shingle_size, num_perm, bands, rows, seed, threshold, library, scheme,
                            library_version, algorithm_version, params)
VALUES (%(shingle_size)s, %(num_perm)s, %(bands)s, %(rows)s, %(seed)s, %(threshold)s,
        %(library)s, %(scheme)s, %(library_version)s, %(algorithm_version)s, %(params)s)
ON CONFLICT (singleton) DO NOTHING;
