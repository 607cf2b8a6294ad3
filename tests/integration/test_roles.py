"""Least privilege on real PostgreSQL, as real logins of each role (migrations 003, 005).

The writer holds what the queries of the workers and of the operator commands
need, column by column, and nothing else: no DELETE, nothing on the change feed
(only its trigger writes it, as the schema owner), no rewrite of minhash_params,
no DDL. The reader reads the documented interface. The watcher needs no login.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tests.support import Stack, drop_and_claim, ingest_env, query, wait_for
from worker import db
from worker.db import feed, queries
from worker.db.databases import create_database, drop_database
from worker.dedupe import rebuild
from worker.dedupe.minhash import PARAMS
from worker.pipeline.batch import process_batch
from worker.settings import Settings

# -- the grant matrix ----------------------------------------------------------

ALL = "all columns"
DOCUMENTED = ("documents", "ingest_files", "rejections", "duplicate_records", "document_feed")
VIEWS = ("stories", "file_fates")
INTERNAL = ("document_signatures", "document_bands", "minhash_params", "schema_migrations")
TABLES = (*DOCUMENTED, *INTERNAL)
SEQUENCES = (
    "ingest_files_id_seq",
    "documents_id_seq",
    "rejections_id_seq",
    "document_feed_seq_seq",
)

# Table-level privileges ("all columns") or the columns a column-level grant covers.
WRITER: dict[str, dict[str, Any]] = {
    "ingest_files": {
        "SELECT": ALL,
        "INSERT": {"claim_id", "name", "received_at"},
        "UPDATE": {
            "status",
            "reason",
            "detail",
            "document_id",
            "size",
            "sha256",
            "records",
            "attempts",
            "finished_at",
            "outcome_path",
        },
    },
    "documents": {
        "SELECT": ALL,
        "INSERT": {
            "published_on",
            "title",
            "body",
            "content_sha256",
            "file_id",
            "record_no",
            "url",
            "source",
            "word_count",
            "language",
        },
        "UPDATE": {
            "near_duplicate_of",
            "similarity",
            "published_on",
            "title",
            "url",
            "source",
            "word_count",
            "language",
        },
    },
    "rejections": {"SELECT": ALL, "INSERT": {"file_id", "record_no", "reason", "detail"}},
    "duplicate_records": {
        "SELECT": {"file_id", "record_no"},  # ON CONFLICT reads the key
        "INSERT": {"file_id", "record_no", "document_id"},
    },
    "document_signatures": {"SELECT": ALL, "INSERT": {"document_id", "signature"}},
    "document_bands": {"SELECT": ALL, "INSERT": {"band_key", "document_id"}},
    "minhash_params": {
        "SELECT": ALL,
        "INSERT": {
            "shingle_size",
            "num_perm",
            "bands",
            "rows",
            "seed",
            "threshold",
            "library",
            "scheme",
            "library_version",
            "algorithm_version",
            "params",
        },
    },
}
READER: dict[str, dict[str, Any]] = {name: {"SELECT": ALL} for name in (*DOCUMENTED, *VIEWS)}

# Every named query, by the role that runs it (a new query must be placed here).
WRITER_QUERIES = tuple(  # the workers, and `ingest status|retry|reprocess|rejected|prune`
    sorted(
        [f"pipeline.{n}" for n in queries.area("pipeline")]
        + [f"ops.{n}" for n in queries.area("ops")]
        + [f"status.{n}" for n in queries.area("status")]
        + [
            f"neardup.{n}"
            for n in (
                "bodies",
                "candidates",
                "copy_bands",
                "lock_buckets",
                "lock_index",
                "params",
                "params_init",
                "store",
            )
        ]
    )
)
OWNER_QUERIES = (  # `ingest reindex`, `ingest migrate` and the embedded server's set-up
    "neardup.reindex_begin",
    "neardup.reindex_clear",
    "neardup.params_set",
    "neardup.reindex_chunk",
    "neardup.reindex_order",
    *(f"migrate.{n}" for n in queries.area("migrate")),
)
READER_QUERIES = ("feed.now", "feed.read")  # `ingest tail`


# -- logins --------------------------------------------------------------------


@contextlib.contextmanager
def created_logins(database_url: str, pg_admin_url: str) -> Iterator[dict[str, str]]:
    """A writer and a reader login, created by `ingest migrate` as documented."""
    suffix = uuid.uuid4().hex[:8]
    names = {"writer": f"app_{suffix}", "reader": f"consumer_{suffix}"}
    env = ingest_env(
        INGEST_DATABASE_URL=database_url,
        INGEST_DB_WRITER_LOGIN=names["writer"],
        INGEST_DB_WRITER_PASSWORD="w-secret",
        INGEST_DB_READER_LOGIN=names["reader"],
        INGEST_DB_READER_PASSWORD="r-secret",
    )
    for _ in range(2):  # idempotent: the second run updates, nothing fails
        done = subprocess.run(
            [sys.executable, "-m", "worker", "migrate"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
    assert f"login: {names['writer']} (ingest_writer)" in done.stdout
    try:
        yield {role: make_conninfo(database_url, user=name) for role, name in names.items()}
    finally:
        db.close_pools()
        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            for name in names.values():
                conn.execute(f'DROP ROLE IF EXISTS "{name}"')


@pytest.fixture
def logins(database_url: str, pg_admin_url: str) -> Iterator[dict[str, str]]:
    """Logins on this test's own database (tests that write)."""
    with created_logins(database_url, pg_admin_url) as urls:
        yield urls


@pytest.fixture(scope="module")
def shared(pg_admin_url: str) -> Iterator[dict[str, str]]:
    """Owner, writer and reader of one database for the checks that change nothing."""
    url = create_database(pg_admin_url, prefix="roles")
    try:
        with created_logins(url, pg_admin_url) as urls:
            yield {"owner": url, **urls}
    finally:
        drop_database(pg_admin_url, url)


def denied(url: str, statement: str) -> bool:
    """Whether PostgreSQL refuses `statement` for lack of privilege. Never kept."""
    with psycopg.connect(url) as conn:
        try:
            conn.execute(statement)
        except psycopg.errors.InsufficientPrivilege:
            return True
        finally:
            conn.rollback()
    return False


def run_named(url: str, name: str) -> None:
    """Run named query `name` as far as privileges go, changing nothing.

    EXPLAIN checks every privilege the statement needs without running it; the
    statements EXPLAIN does not take (COPY, LOCK, TRUNCATE) run in a transaction
    that is rolled back.
    """
    area, _, short = name.partition(".")
    text = queries.area(area)[short]
    params = dict.fromkeys(re.findall(r"%\((\w+)\)[sb]", text))
    statement = re.sub(r"--[^\n]*", "", text).strip()
    with psycopg.connect(url) as conn:
        try:
            if statement.startswith("COPY"):
                with conn.cursor().copy(db.query(name)) as copy:
                    copy.write_row((1, 1))
            elif statement.startswith(("LOCK", "TRUNCATE")):
                conn.execute(db.query(name))
            else:
                conn.execute(sql.SQL("EXPLAIN ") + db.query(name), params)
        finally:
            conn.rollback()


def granted(url: str, grantee: str | None) -> dict[str, dict[str, Any]]:
    """Privileges granted to role `grantee` (None: PUBLIC) on the relations of public."""
    oid = 0 if grantee is None else role_oid(url, grantee)
    rows = query(
        url,
        "SELECT c.relname, a.privilege_type, NULL AS column_name"
        " FROM pg_class AS c, aclexplode(c.relacl) AS a"
        " WHERE c.relnamespace = 'public'::regnamespace AND a.grantee = %s"
        " UNION ALL"
        " SELECT c.relname, a.privilege_type, att.attname"
        " FROM pg_class AS c JOIN pg_attribute AS att ON att.attrelid = c.oid,"
        "      aclexplode(att.attacl) AS a"
        " WHERE c.relnamespace = 'public'::regnamespace AND a.grantee = %s",
        (oid, oid),
    )
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        privileges = found.setdefault(row["relname"], {})
        if row["column_name"] is None:
            privileges[row["privilege_type"]] = ALL
        elif privileges.get(row["privilege_type"]) != ALL:
            privileges.setdefault(row["privilege_type"], set()).add(row["column_name"])
    return found


def role_oid(url: str, name: str) -> int:
    return int(query(url, "SELECT %s::regrole::oid AS oid", (name,))[0]["oid"])


# -- the matrix as granted -----------------------------------------------------


def test_logins_are_members_with_passwords(database_url: str, logins: dict[str, str]) -> None:
    rows = query(
        database_url,
        "SELECT g.rolname AS grp, g.rolcanlogin AS group_login, r.rolcanlogin, r.rolsuper,"
        " r.rolpassword IS NOT NULL AS has_password"
        " FROM pg_authid r JOIN pg_auth_members m ON m.member = r.oid"
        " JOIN pg_roles g ON g.oid = m.roleid WHERE r.rolname = ANY(%s)",
        ([conninfo_to_dict(url)["user"] for url in logins.values()],),
    )
    assert sorted(r["grp"] for r in rows) == ["ingest_reader", "ingest_writer"]
    for row in rows:
        assert row["rolcanlogin"] and not row["rolsuper"] and row["has_password"]
        assert not row["group_login"], "the group roles themselves cannot log in"


def test_the_roles_hold_exactly_the_documented_privileges(shared: dict[str, str]) -> None:
    owner = shared["owner"]
    assert granted(owner, "ingest_writer") == WRITER
    assert granted(owner, "ingest_reader") == READER
    assert granted(owner, None) == {}, "nothing is granted to PUBLIC"


def test_later_tables_grant_nothing_by_default(shared: dict[str, str]) -> None:
    owner = shared["owner"]
    defaults = query(
        owner,
        "SELECT d.defaclrole::regrole::text AS holder, d.defaclobjtype"
        " FROM pg_default_acl AS d, aclexplode(d.defaclacl) AS a"
        " WHERE a.grantee = 'ingest_writer'::regrole",
    )
    assert defaults == []
    with psycopg.connect(owner) as conn:  # a table the next migration might add
        conn.execute("CREATE TABLE later_table (id bigint GENERATED ALWAYS AS IDENTITY, x int)")
        later = [
            r[0]
            for r in conn.execute(
                "SELECT c.relname FROM pg_class AS c, aclexplode(c.relacl) AS a"
                " WHERE c.relname IN ('later_table', 'later_table_id_seq')"
                " AND a.grantee = 'ingest_writer'::regrole"
            )
        ]
        conn.rollback()
    assert later == []


def test_the_feed_trigger_runs_as_the_schema_owner_with_a_pinned_path(
    shared: dict[str, str],
) -> None:
    [function] = query(
        shared["owner"],
        "SELECT p.prosecdef, p.proconfig, p.proowner = c.relowner AS owned_like_the_feed,"
        " has_function_privilege('public', p.oid, 'EXECUTE') AS public_execute"
        " FROM pg_proc AS p, pg_class AS c"
        " WHERE p.oid = 'document_feed_record()'::regprocedure"
        " AND c.oid = 'document_feed'::regclass",
    )
    assert function == {
        "prosecdef": True,
        "proconfig": ["search_path=pg_catalog, pg_temp"],
        "owned_like_the_feed": True,
        "public_execute": False,
    }


def test_every_named_query_has_a_role() -> None:
    names = {f"{area}.{name}" for area in queries.areas() for name in queries.area(area)}
    placed = [*WRITER_QUERIES, *OWNER_QUERIES, *READER_QUERIES]
    assert sorted(placed) == sorted(names)


# -- the writer: what it can do --------------------------------------------------


@pytest.mark.parametrize("name", WRITER_QUERIES)
def test_writer_can_run(shared: dict[str, str], name: str) -> None:
    run_named(shared["writer"], name)


def near_copy(dated_text: bytes) -> bytes:
    """The same story under a new headline and byline (a near-duplicate, not a duplicate)."""
    word, date, rest = dated_text.lstrip().split(b" ", 2)
    return b"%s %s Same story, new headline\n\nBy Staff Reporter\n\n%s" % (word, date, rest)


def test_the_stack_runs_as_the_writer_and_the_watcher_without_a_login(
    tmp_path: Path,
    database_url: str,
    broker_url: str,
    logins: dict[str, str],
    samples: list[Path],
) -> None:
    writer = logins["writer"]
    stack = Stack(tmp_path, writer, broker_url)
    # A genuine `failed` fate first (no attempts allowed), for `ingest retry` below.
    failing = Settings(database_url=writer, inbox=stack.inbox, max_attempts=0)
    flaky = drop_and_claim(failing, "flaky.txt", samples[0].read_bytes())
    assert process_batch(failing, [flaky]).fates == {flaky.claim_id: "failed"}
    records = [
        {"date": "2021-03-01", "title": "First", "body": "The first record of this export."},
        {"date": "2021-03-02", "title": "Again", "body": "The first record of this export."},
        {"title": "Undated", "body": "A record that carries no date field at all."},
    ]
    first_wave = {
        samples[1].name: samples[1].read_bytes(),
        samples[2].name: samples[2].read_bytes(),
        "undated.txt": b"An article without its date line, long enough to be judged on it.\n",
        "records.ndjson": "\n".join(json.dumps(r) for r in records).encode(),
    }
    copies = {  # after their originals: which copy of a pair is first is then certain
        "again.txt": samples[1].read_bytes(),
        "near-copy.txt": near_copy(samples[2].read_bytes()),
    }

    def ingest(*args: str) -> Any:
        done = subprocess.run(
            [sys.executable, "-m", "worker", *args, "--json"],
            env=stack.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"ingest {args}: {done.stdout}\n{done.stderr}"
        return json.loads(done.stdout)

    try:
        stack.start(watcher=False)
        stack.env.pop("INGEST_DATABASE_URL")  # the watcher never connects to PostgreSQL
        stack.start_process("watcher", "watch")
        stack.env["INGEST_DATABASE_URL"] = writer  # the operator commands below
        for name, data in first_wave.items():
            stack.drop(name, data)
        stack.wait_finished(1 + len(first_wave), timeout=60)
        for name, data in copies.items():
            stack.drop(name, data)
        stack.wait_finished(1 + len(first_wave) + len(copies), timeout=60)

        assert [r["outcome"] for r in ingest("retry")] == ["requeued"]
        wait_for(
            lambda: {f["status"] for f in stack.files() if f["name"] == "flaky.txt"} == {"stored"},
            timeout=60,
            what="the retried file stored",
        )
        [rejected] = ingest("rejected")
        assert (rejected["name"], rejected["reason"]) == ("undated.txt", "missing_date")
        stale = "UPDATE documents SET title = 'stale' WHERE title = 'First' RETURNING id"
        query(database_url, stale)  # what an older parser might have derived
        assert ingest("reprocess")["counts"]["updated"] == 1
        assert ingest("status")["files"]["stored"] == 5
        log = stack.log("worker") + stack.log("watcher")
    finally:
        stack.stop()

    fates = {f["name"]: f["status"] for f in query(database_url, "SELECT * FROM ingest_files")}
    assert fates == {
        "flaky.txt": "stored",
        samples[1].name: "stored",
        samples[2].name: "stored",
        "undated.txt": "rejected",
        "records.ndjson": "stored",
        "again.txt": "duplicate",
        "near-copy.txt": "stored",
    }
    assert "permission denied" not in log
    links = query(database_url, "SELECT count(*) FROM documents WHERE near_duplicate_of > 0")
    assert links == [{"count": 1}], "neardup_store linked the near copy"
    counts = query(
        database_url,
        "SELECT (SELECT count(*) FROM duplicate_records) AS repeats,"
        " (SELECT count(*) FROM rejections) AS rejections,"
        " (SELECT count(*) FROM minhash_params) AS params",
    )
    assert counts == [{"repeats": 1, "rejections": 1, "params": 1}]
    # Feed rows come from the trigger alone, for the writer's inserts and updates,
    # and the reader reads them.
    with psycopg.connect(logins["reader"], autocommit=True) as conn:
        entries = feed.read(conn, feed.START)
    documents = query(database_url, "SELECT id FROM documents")
    inserted = [e["id"] for e in entries if e["op"] == "insert"]
    assert sorted(inserted) == sorted(d["id"] for d in documents) and len(inserted) == 5
    [first] = query(database_url, "SELECT id FROM documents WHERE title = 'First'")
    # The owner's edit above, then the writer's refresh by `ingest reprocess`.
    assert [e["id"] for e in entries if e["op"] == "update"] == [first["id"]] * 2


def test_reindex_is_for_the_schema_owner(
    tmp_path: Path, database_url: str, logins: dict[str, str], samples: list[Path]
) -> None:
    settings = Settings(database_url=logins["writer"], inbox=tmp_path / "inbox")
    claims = [drop_and_claim(settings, p.name, p.read_bytes()) for p in samples]
    assert set(process_batch(settings, claims).fates.values()) == {"stored"}
    index = "SELECT * FROM minhash_params, (SELECT count(*) FROM document_bands) AS b"
    before = query(database_url, index)

    done = subprocess.run(
        [sys.executable, "-m", "worker", "reindex"],
        env=ingest_env(INGEST_DATABASE_URL=logins["writer"]),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr  # a clear refusal, not a traceback
    assert "permission denied" in done.stderr and "schema owner" in done.stderr, done.stderr
    assert query(database_url, index) == before

    report = rebuild.reindex(database_url, PARAMS)  # as the owner
    assert (report.documents, report.relinked) == (3, 0)


# -- the writer: what it cannot do -----------------------------------------------

WRITER_DENIED = {
    # No query deletes.
    **{f"delete from {t}": f"DELETE FROM {t}" for t in TABLES},
    # The feed is written by its trigger alone; `ingest tail` is a reader's.
    "insert into document_feed": (
        "INSERT INTO document_feed (document_id, op) SELECT 1, 'insert' WHERE false"
    ),
    "update document_feed": "UPDATE document_feed SET op = 'update'",
    "read document_feed": "SELECT * FROM document_feed",
    "call feed_since": "SELECT * FROM feed_since('0', 0)",
    "call the feed trigger function": "SELECT document_feed_record()",
    # The index's parameters are recorded once; `ingest reindex` rewrites them, as the owner.
    "update minhash_params": "UPDATE minhash_params SET threshold = 0.5",
    "upsert minhash_params": (
        "INSERT INTO minhash_params (shingle_size, num_perm, bands, rows, seed, threshold,"
        " library, scheme, library_version, algorithm_version, params)"
        " SELECT 1, 1, 1, 1, 1, 0.5, 'x', 'x', 'x', 1, '{}' WHERE false"
        " ON CONFLICT (singleton) DO UPDATE SET threshold = EXCLUDED.threshold"
    ),
    "insert minhash_params.built_at": (
        "INSERT INTO minhash_params (shingle_size, num_perm, bands, rows, seed, threshold,"
        " library, scheme, library_version, algorithm_version, params, built_at)"
        " SELECT 1, 1, 1, 1, 1, 0.5, 'x', 'x', 'x', 1, '{}', now() WHERE false"
    ),
    # A document's body is its identity.
    **{
        f"update documents.{c}": f"UPDATE documents SET {c} = {c}"
        for c in ("body", "content_sha256", "file_id", "record_no", "ingested_at")
    },
    "insert documents.ingested_at": (
        "INSERT INTO documents (body, content_sha256, file_id, word_count, ingested_at)"
        " SELECT 'b', 'k', 1, 1, now() WHERE false"
    ),
    # A receipt keeps what it was received as.
    **{
        f"update ingest_files.{c}": f"UPDATE ingest_files SET {c} = {c}"
        for c in ("claim_id", "name", "received_at")
    },
    "insert ingest_files.status": (
        "INSERT INTO ingest_files (claim_id, name, status) SELECT 'c', 'n', 'stored' WHERE false"
    ),
    "update rejections": "UPDATE rejections SET detail = detail",
    "update duplicate_records": "UPDATE duplicate_records SET document_id = document_id",
    "update document_signatures": "UPDATE document_signatures SET signature = signature",
    "update document_bands": "UPDATE document_bands SET band_key = band_key",
    # Not needed by any query.
    "read schema_migrations": "SELECT * FROM schema_migrations",
    **{f"read {v}": f"SELECT * FROM {v}" for v in VIEWS},
    **{f"nextval {s}": f"SELECT nextval('{s}')" for s in SEQUENCES},
    # No TRUNCATE, no DDL.
    **{f"truncate {t}": f"TRUNCATE {t}" for t in TABLES},
    "lock documents like reindex": "LOCK TABLE documents IN SHARE ROW EXCLUSIVE MODE",
    "create table": "CREATE TABLE mine (x int)",
    "create function": "CREATE FUNCTION mine() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "alter table": "ALTER TABLE documents ADD COLUMN x int",
    "drop constraint": "ALTER TABLE ingest_files DROP CONSTRAINT ingest_files_claim_id_key",
    "disable the feed trigger": "ALTER TABLE documents DISABLE TRIGGER documents_feed_insert",
    "create trigger": (
        "CREATE TRIGGER mine AFTER INSERT ON documents"
        " FOR EACH STATEMENT EXECUTE FUNCTION document_feed_record()"
    ),
    "create index": "CREATE INDEX mine ON documents (title)",
    "replace the feed trigger function": (
        "CREATE OR REPLACE FUNCTION document_feed_record() RETURNS trigger"
        " LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END'"
    ),
    "drop table documents": "DROP TABLE documents",
    "drop table document_feed": "DROP TABLE document_feed",
    "drop view": "DROP VIEW stories",
    "drop function": "DROP FUNCTION feed_since",
}


@pytest.mark.parametrize("statement", WRITER_DENIED.values(), ids=WRITER_DENIED.keys())
def test_writer_cannot(shared: dict[str, str], statement: str) -> None:
    assert denied(shared["writer"], statement)


@pytest.mark.parametrize(
    "name", ["neardup.reindex_begin", "neardup.reindex_clear", "neardup.params_set"]
)
def test_writer_cannot_run_reindex_query(shared: dict[str, str], name: str) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        run_named(shared["writer"], name)


def test_a_writer_cannot_divert_the_feed_into_a_table_of_its_own(
    database_url: str, logins: dict[str, str]
) -> None:
    # A temporary table comes first in a session's search path for unqualified names.
    with psycopg.connect(logins["writer"]) as conn:
        conn.execute(
            "CREATE TEMP TABLE document_feed (txid xid8 DEFAULT pg_current_xact_id(), seq int,"
            " document_id bigint, op text, recorded_at timestamptz, UNIQUE (txid, document_id))"
        )
        conn.execute("INSERT INTO ingest_files (claim_id, name) VALUES ('c', 'n')")
        conn.execute(
            "INSERT INTO documents (body, content_sha256, file_id, word_count)"
            " SELECT 'body', %s, id, 1 FROM ingest_files",
            ("0" * 64,),
        )
        diverted = conn.execute("SELECT count(*) FROM pg_temp.document_feed").fetchone()
        conn.commit()
    assert diverted == (0,)
    rows = query(
        database_url,
        "SELECT d.id, f.op FROM document_feed AS f JOIN documents AS d ON d.id = f.document_id",
    )
    assert [r["op"] for r in rows] == ["insert"], "the document is in the feed consumers read"


# -- the reader ------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        *(f"SELECT * FROM {name} LIMIT 1" for name in (*DOCUMENTED, *VIEWS)),
        "SELECT * FROM feed_since('0', 0)",
    ],
)
def test_reader_can_read(shared: dict[str, str], statement: str) -> None:
    assert not denied(shared["reader"], statement)


@pytest.mark.parametrize("name", READER_QUERIES)
def test_reader_can_run(shared: dict[str, str], name: str) -> None:
    run_named(shared["reader"], name)


READER_DENIED = {
    **{f"read {t}": f"SELECT * FROM {t}" for t in INTERNAL},
    "insert": "INSERT INTO ingest_files (claim_id, name) SELECT 'x', 'x' WHERE false",
    "update": "UPDATE documents SET title = 'x'",
    "delete from ingest_files": "DELETE FROM ingest_files",
    "delete from document_feed": "DELETE FROM document_feed",
    "truncate": "TRUNCATE rejections",
    "drop table": "DROP TABLE documents",
    "alter table": "ALTER TABLE documents ADD COLUMN x int",
    "drop view": "DROP VIEW stories",
    "create table": "CREATE TABLE mine (x int)",
}


@pytest.mark.parametrize("statement", READER_DENIED.values(), ids=READER_DENIED.keys())
def test_reader_cannot(shared: dict[str, str], statement: str) -> None:
    assert denied(shared["reader"], statement)
