-- Where each file ended: chosen before the commit that records its fate, so the
-- final move, `ingest retry`, `rejected --release` and `prune` act on that very
-- path instead of guessing it again. Relative to the files folder (files_dir),
-- for example `processed/news/a.txt` or `rejected/a.txt.0187...-1a2b3c4d`. NULL
-- while in flight, for files that vanished, and for rows written before this
-- migration. A rejected or failed file's sidecar is `errors/<outcome_path>.error.json`.
ALTER TABLE ingest_files ADD COLUMN outcome_path text;

GRANT UPDATE (outcome_path) ON ingest_files TO ingest_writer;

-- The status column holds a fate (worker.fates.Fate); the constraint of 001 already
-- lists exactly these values.

CREATE OR REPLACE VIEW file_fates AS
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
       f.finished_at,
       f.outcome_path
FROM ingest_files AS f;
