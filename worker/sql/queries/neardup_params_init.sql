-- First use of an empty index: record the parameters. A concurrent first use
-- waits here for the other's commit, then keeps its row.
INSERT INTO minhash_params (shingle_size, num_perm, bands, rows, seed, threshold, library,
                            library_version, algorithm_version)
VALUES (%(shingle_size)s, %(num_perm)s, %(bands)s, %(rows)s, %(seed)s, %(threshold)s,
        %(library)s, %(library_version)s, %(algorithm_version)s)
ON CONFLICT (singleton) DO NOTHING;
