-- One exclusive advisory lock per band bucket, held until the transaction ends.
-- The keys arrive sorted and distinct, and unnest yields them in array order,
-- so every batch takes its locks in the same global order: no deadlock.
SELECT count(pg_advisory_xact_lock(k)) FROM unnest(%(keys)s::bigint[]) AS k;
