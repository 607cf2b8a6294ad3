-- The whole index, as a readers-writer lock (the two-int4 advisory key space,
-- apart from the bigint keys of the buckets and the claims): shared by batches
-- that lock their buckets one by one, exclusive for a batch with too many
-- buckets to lock one by one (the lock table is small: max_locks_per_transaction).
-- Held until the transaction ends.
SELECT CASE WHEN %(exclusive)s
            THEN pg_advisory_xact_lock(%(namespace)s::int, 0)
            ELSE pg_advisory_xact_lock_shared(%(namespace)s::int, 0)
       END;
