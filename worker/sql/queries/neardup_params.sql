SELECT shingle_size, num_perm, bands, rows, seed, threshold, library, library_version,
       algorithm_version
FROM minhash_params;
