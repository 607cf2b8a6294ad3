-- The cursor for "from now": every transaction below the snapshot's xmin has
-- finished and is behind it; anything that commits from here on is after it.
SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS txid, 0::bigint AS seq;
