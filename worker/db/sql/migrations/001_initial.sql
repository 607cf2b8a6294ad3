-- Ledger of every file received, the documents they produced, and per-record rejections.
-- Public interface for downstream consumers: see README "Table schema".

CREATE TABLE ingest_files (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    claim_id     text        NOT NULL UNIQUE,
    name         text        NOT NULL,
    size         bigint,
    sha256       char(64),
    status       text        NOT NULL DEFAULT 'processing'
                 CHECK (status IN ('processing', 'stored', 'duplicate', 'rejected', 'failed')),
    reason       text,
    detail       text,
    document_id  bigint,
    records      integer,
    attempts     integer     NOT NULL DEFAULT 1,
    received_at  timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    CHECK ((status IN ('rejected', 'failed')) = (reason IS NOT NULL))
);

CREATE INDEX ingest_files_status_idx ON ingest_files (status, finished_at);

CREATE TABLE documents (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    published_on       date,
    title              text,
    body               text        NOT NULL,
    content_sha256     char(64)    NOT NULL UNIQUE,
    file_id            bigint      NOT NULL REFERENCES ingest_files (id),
    record_no          integer,
    url                text,
    source             text,
    word_count         integer     NOT NULL,
    language           text,
    near_duplicate_of  bigint      REFERENCES documents (id),
    similarity         real        CHECK (similarity BETWEEN 0 AND 1),
    ingested_at        timestamptz NOT NULL DEFAULT now()
);

-- Bodies are a few KB of text: lz4 compresses faster than pglz (DESIGN.md: 2.5x COPY rate).
-- Servers built without lz4 (the embedded wheel) keep the default.
DO $$
BEGIN
    ALTER TABLE documents ALTER COLUMN body SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'lz4 not available; documents.body keeps the default compression';
END
$$;

CREATE INDEX documents_published_on_idx ON documents (published_on);
CREATE INDEX documents_file_id_idx ON documents (file_id);
CREATE INDEX documents_near_duplicate_of_idx ON documents (near_duplicate_of)
    WHERE near_duplicate_of IS NOT NULL;

ALTER TABLE ingest_files
    ADD CONSTRAINT ingest_files_document_fk FOREIGN KEY (document_id) REFERENCES documents (id);

CREATE TABLE rejections (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    file_id    bigint      NOT NULL REFERENCES ingest_files (id),
    record_no  integer     NOT NULL,
    reason     text        NOT NULL,
    detail     text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (file_id, record_no)
);

-- Records of multi-record files (NDJSON) that repeat an existing document.
CREATE TABLE duplicate_records (
    file_id     bigint  NOT NULL REFERENCES ingest_files (id),
    record_no   integer NOT NULL,
    document_id bigint  NOT NULL REFERENCES documents (id),
    PRIMARY KEY (file_id, record_no)
);
