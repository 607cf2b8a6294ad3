-- Least privilege for the writer (security review). 003 gave ingest_writer
-- SELECT, INSERT, UPDATE, DELETE on every table and view, and on every table of
-- later migrations through default privileges: it could delete the ledger, forge
-- change-feed rows and delete minhash_params (which stops every worker).
--
-- Now the writer holds what the named queries of the workers and of the operator
-- commands it runs (status, retry, reprocess, rejected) need, column by column
-- where they write (worker/sql/queries/). No query deletes, so no DELETE. The
-- feed is written only by its trigger, running as the schema owner. `ingest
-- migrate` and `ingest reindex` (TRUNCATE, rewrites minhash_params) run as the
-- schema owner; `ingest tail` is a consumer and runs as a reader.
--
-- Rule for later migrations: grant each new table to the roles explicitly, in the
-- migration that creates it. Nothing is granted by default any more.

-- ---------------------------------------------------------------------------
-- Start from nothing: 003 granted ALL TABLES (views included) and ALL SEQUENCES.
-- Identity columns take their values without USAGE on their sequences.
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM ingest_writer;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM ingest_writer;

-- The default privileges of 003 belong to the role that ran it, which need not be
-- the role running this: revoke them for whichever role holds them. A role we are
-- not a member of fails this migration rather than keeping them silently.
DO $$
DECLARE
    holder record;
BEGIN
    FOR holder IN
        SELECT DISTINCT d.defaclrole::regrole::text AS role_name,
               CASE d.defaclobjtype WHEN 'r' THEN 'TABLES' WHEN 'S' THEN 'SEQUENCES'
                                    WHEN 'f' THEN 'FUNCTIONS' WHEN 'T' THEN 'TYPES'
                                    WHEN 'n' THEN 'SCHEMAS' WHEN 'L' THEN 'LARGE OBJECTS'
               END AS kind,
               d.defaclnamespace = 0 AS global
        FROM pg_default_acl AS d, aclexplode(d.defaclacl) AS a
        WHERE a.grantee = 'ingest_writer'::regrole
          AND d.defaclnamespace IN (0, 'public'::regnamespace)
    LOOP
        EXECUTE format(
            'ALTER DEFAULT PRIVILEGES FOR ROLE %s %s REVOKE ALL ON %s FROM ingest_writer',
            holder.role_name,
            CASE WHEN holder.global THEN '' ELSE 'IN SCHEMA public' END,
            holder.kind);
    END LOOP;
END
$$;

-- PostgreSQL 15 and later already refuse CREATE in public to ordinary roles;
-- older servers (and clusters upgraded from them) do not.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

-- ---------------------------------------------------------------------------
-- ingest_writer, table by table. SELECT where a query reads (ON CONFLICT and
-- RETURNING read too); INSERT and UPDATE on the columns the queries write.

-- The ledger. register_files inserts (claim_id, name, received_at) and, on
-- conflict, sets attempts; start_files, finish_files and retry_reset update the
-- rest. Never written: id, claim_id and name of an existing row, received_at.
GRANT SELECT ON ingest_files TO ingest_writer;
GRANT INSERT (claim_id, name, received_at) ON ingest_files TO ingest_writer;
GRANT UPDATE (status, reason, detail, document_id, size, sha256, records, attempts, finished_at)
    ON ingest_files TO ingest_writer;

-- Documents. insert_documents inserts; neardup_store sets the links and
-- reprocess_update the derived fields. A document's body is its identity: no
-- query updates body, content_sha256, file_id, record_no or ingested_at.
GRANT SELECT ON documents TO ingest_writer;
GRANT INSERT (published_on, title, body, content_sha256, file_id, record_no, url, source,
              word_count, language)
    ON documents TO ingest_writer;
GRANT UPDATE (near_duplicate_of, similarity, published_on, title, url, source, word_count,
              language)
    ON documents TO ingest_writer;

-- Rejected records: inserted by the pipeline, read by `ingest rejected`.
GRANT SELECT ON rejections TO ingest_writer;
GRANT INSERT (file_id, record_no, reason, detail) ON rejections TO ingest_writer;

-- Repeated records: inserted only (ON CONFLICT reads the key columns).
GRANT SELECT (file_id, record_no) ON duplicate_records TO ingest_writer;
GRANT INSERT (file_id, record_no, document_id) ON duplicate_records TO ingest_writer;

-- The near-duplicate index: read and appended to by batches; cleared and
-- rebuilt only by `ingest reindex`, as the owner.
GRANT SELECT ON document_signatures, document_bands TO ingest_writer;
GRANT INSERT (document_id, signature) ON document_signatures TO ingest_writer;
GRANT INSERT (band_key, document_id) ON document_bands TO ingest_writer;

-- The index's parameters: read by every batch, recorded by the first batch of an
-- empty database (neardup_params_init). Rewritten only by `ingest reindex`.
GRANT SELECT ON minhash_params TO ingest_writer;
GRANT INSERT (shingle_size, num_perm, bands, rows, seed, threshold, library, scheme,
              library_version, algorithm_version, params)
    ON minhash_params TO ingest_writer;

-- Nothing on document_feed, schema_migrations, the views or any sequence.

-- ---------------------------------------------------------------------------
-- The change feed: written only by this trigger function, which runs as its
-- owner (the schema owner). search_path is pinned and every name outside
-- pg_catalog qualified, so no object another role creates can stand in for
-- what the function uses; pg_temp last keeps temporary tables out.
CREATE OR REPLACE FUNCTION document_feed_record() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO public.document_feed (txid, document_id, op)
        SELECT pg_current_xact_id(), n.id, 'insert' FROM new_rows AS n ORDER BY n.id
        ON CONFLICT (txid, document_id) DO NOTHING;
    ELSE
        INSERT INTO public.document_feed (txid, document_id, op)
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

-- Triggers fire without EXECUTE; nobody needs to call these directly.
REVOKE EXECUTE ON FUNCTION document_feed_record() FROM PUBLIC;
-- feed_since reads the feed: readers (granted in 003) and the owner only.
REVOKE EXECUTE ON FUNCTION feed_since(xid8, bigint, integer) FROM PUBLIC;
