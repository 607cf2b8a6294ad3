-- The order documents entered the near-duplicate index. Workers link a new
-- document to what was indexed before it, and batches are indexed in the
-- order of their commits, which need not be id order; `ingest reindex`
-- follows this column to reproduce the links. Rows indexed before it get
-- their table order.
ALTER TABLE document_signatures ADD COLUMN indexed bigint GENERATED ALWAYS AS IDENTITY;
CREATE INDEX document_signatures_indexed_idx ON document_signatures (indexed);
