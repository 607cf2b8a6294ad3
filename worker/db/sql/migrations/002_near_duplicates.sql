-- Near-duplicate index: MinHash signatures, LSH band keys, and the parameters
-- they were built with. Internal to the workers (consumers read
-- documents.near_duplicate_of and documents.similarity); see worker/neardup.py.

-- One signature per document: num_perm little-endian uint32 slots
-- (worker.minhash.signature_to_bytes). A side table, so a rebuild rewrites it
-- without touching the document rows.
CREATE TABLE document_signatures (
    document_id  bigint PRIMARY KEY REFERENCES documents (id) ON DELETE CASCADE,
    signature    bytea  NOT NULL
);

-- One row per (band key, document): documents sharing a band key are LSH
-- candidates. The primary key's btree (band_key first) answers
-- `band_key = ANY(...)`; band keys already encode the band number. No foreign
-- key: 32 rows per document would mean 32 referential checks per insert.
-- Lookups join document_signatures, so rows of a deleted document are inert
-- (and `ingest reindex` drops them).
CREATE TABLE document_bands (
    band_key     bigint NOT NULL,
    document_id  bigint NOT NULL,
    PRIMARY KEY (band_key, document_id)
);

-- The parameters the index was built with: a single row, written at first use
-- or by `ingest reindex`. Workers with other parameters refuse to run. The
-- columns are for people; `params` (worker.minhash.MinHashParams.as_dict(),
-- every field) is what workers compare.
CREATE TABLE minhash_params (
    singleton          boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    shingle_size       integer          NOT NULL,
    num_perm           integer          NOT NULL,
    bands              integer          NOT NULL,
    rows               integer          NOT NULL,
    seed               numeric(20, 0)   NOT NULL,  -- unsigned 64-bit
    threshold          double precision NOT NULL,
    library            text             NOT NULL,
    scheme             text             NOT NULL,  -- how shingle hashes and band keys are formed
    library_version    text             NOT NULL,
    algorithm_version  integer          NOT NULL,
    params             jsonb            NOT NULL,
    built_at           timestamptz      NOT NULL DEFAULT now()
);
