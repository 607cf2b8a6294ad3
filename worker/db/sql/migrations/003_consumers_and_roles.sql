-- Downstream interface: a change feed ordered by transaction, views for the
-- common questions, and least-privilege roles. See README "For downstream consumers".

-- ---------------------------------------------------------------------------
-- Change feed (an outbox filled by triggers, in the transaction that writes documents).
--
-- Each row carries the 64-bit id of the transaction that wrote it (xid8: no
-- wraparound) and a sequence number. A consumer reads rows after its cursor
-- whose transaction id is below the xmin of its own snapshot: every transaction
-- below xmin has finished, so no row can still appear behind the cursor; rows
-- of transactions in flight wait until those finish. `feed_since` is that query.
CREATE TABLE document_feed (
    txid         xid8        NOT NULL DEFAULT pg_current_xact_id(),
    seq          bigint      GENERATED ALWAYS AS IDENTITY,
    document_id  bigint      NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    op           text        NOT NULL CHECK (op IN ('insert', 'update')),
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (txid, seq),
    -- One entry per document per transaction, however many statements touched it.
    UNIQUE (txid, document_id)
);

-- A trigger rather than a pipeline statement: every writer of `documents`
-- (pipeline, `ingest reprocess`, future tools, manual fixes) feeds it alike.
CREATE FUNCTION document_feed_record() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO document_feed (txid, document_id, op)
        SELECT pg_current_xact_id(), n.id, 'insert' FROM new_rows AS n ORDER BY n.id
        ON CONFLICT (txid, document_id) DO NOTHING;
    ELSE
        INSERT INTO document_feed (txid, document_id, op)
        SELECT pg_current_xact_id(), n.id, 'update'
        FROM new_rows AS n JOIN old_rows AS o ON o.id = n.id
        WHERE n IS DISTINCT FROM o
        ORDER BY n.id
        ON CONFLICT (txid, document_id) DO NOTHING;
    END IF;
    IF FOUND THEN
        -- Delivered at commit, once per transaction (identical payloads are folded).
        PERFORM pg_notify('ingest_documents', pg_current_xact_id()::text);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER documents_feed_insert AFTER INSERT ON documents
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION document_feed_record();

CREATE TRIGGER documents_feed_update AFTER UPDATE ON documents
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION document_feed_record();

-- Documents stored before the feed existed, in id order, as one past transaction.
INSERT INTO document_feed (txid, document_id, op)
SELECT '1'::xid8, id, 'insert' FROM documents ORDER BY id;

-- Feed entries after the cursor (after_txid, after_seq), oldest first. Start
-- from ('0', 0) for everything, or from (pg_snapshot_xmin(pg_current_snapshot()), 0)
-- for "from now". Resume from the (txid, seq) of the last entry processed.
CREATE FUNCTION feed_since(after_txid xid8, after_seq bigint, max_rows integer DEFAULT 1000)
RETURNS TABLE (txid xid8, seq bigint, op text, document_id bigint, recorded_at timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT f.txid, f.seq, f.op, f.document_id, f.recorded_at
    FROM document_feed AS f
    WHERE (f.txid, f.seq) > (after_txid, after_seq)
      -- pg_current_snapshot() is the snapshot this very query reads with.
      AND f.txid < pg_snapshot_xmin(pg_current_snapshot())
    ORDER BY f.txid, f.seq
    LIMIT max_rows
$$;

-- ---------------------------------------------------------------------------
-- Views for the common questions.

-- One copy per story: near-duplicates point at their canonical document.
CREATE VIEW stories AS
SELECT * FROM documents WHERE near_duplicate_of IS NULL;

-- Each file received, its fate and why.
CREATE VIEW file_fates AS
SELECT f.id          AS file_id,
       f.name,
       f.status      AS fate,
       f.reason,
       f.detail,
       f.document_id,
       f.records,
       (SELECT count(*) FROM rejections AS r WHERE r.file_id = f.id) AS rejected_records,
       f.size,
       f.sha256,
       f.attempts,
       f.received_at,
       f.finished_at
FROM ingest_files AS f;

-- ---------------------------------------------------------------------------
-- Roles. Cluster-wide, so created only when missing (many databases may share
-- one server, and two may migrate at once). NOLOGIN: people and services log in
-- as their own users that are granted one of these (see `ingest migrate`).
DO $$
DECLARE
    wanted text;
BEGIN
    FOREACH wanted IN ARRAY ARRAY['ingest_reader', 'ingest_writer'] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = wanted) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', wanted);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- another database's migration created it meanwhile
            END;
        END IF;
    END LOOP;
END
$$;

GRANT USAGE ON SCHEMA public TO ingest_reader, ingest_writer;

-- Readers: the documented tables and views, nothing else.
GRANT SELECT ON documents, ingest_files, rejections, duplicate_records, document_feed,
    stories, file_fates TO ingest_reader;
GRANT EXECUTE ON FUNCTION feed_since(xid8, bigint, integer) TO ingest_reader;

-- Writers: rows of every pipeline table, no DDL (they own nothing, so they
-- cannot DROP, ALTER or TRUNCATE). Tables of later migrations are covered by
-- the default privileges of the role that runs migrations.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ingest_writer;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ingest_writer;
REVOKE ALL ON schema_migrations FROM ingest_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ingest_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO ingest_writer;
