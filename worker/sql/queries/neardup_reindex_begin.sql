-- `ingest reindex`: no batch may insert documents until the rebuild commits
-- (a batch that already inserted is waited for), and two rebuilds serialise.
LOCK TABLE documents IN SHARE ROW EXCLUSIVE MODE;
