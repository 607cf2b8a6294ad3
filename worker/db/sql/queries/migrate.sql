-- Migrations: the record of what ran (worker/db/migrate.py).
-- Each query follows a `-- name:` line; code asks for it as area.name.

-- name: lock
-- Serialises concurrent `ingest migrate` runs (compose may start several).
SELECT pg_advisory_lock(%(key)s);

-- name: unlock
SELECT pg_advisory_unlock(%(key)s);

-- name: create_record
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now());

-- name: applied
SELECT version, checksum FROM schema_migrations;

-- name: record
INSERT INTO schema_migrations (version, name, checksum) VALUES (%(version)s, %(name)s, %(checksum)s);

-- name: role_exists
-- Logins are cluster-wide roles: `ingest migrate` creates one or updates its password.
SELECT 1 FROM pg_roles WHERE rolname = %(name)s;

-- name: database_exists
SELECT 1 FROM pg_database WHERE datname = %(name)s;
