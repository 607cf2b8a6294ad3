from __future__ import annotations

from tests.support import query
from worker.db import migrate


def test_migrate_is_idempotent_and_recorded(database_url: str) -> None:
    assert migrate.apply(database_url) == []  # the fixture applied everything already
    rows = query(database_url, "SELECT version, name FROM schema_migrations ORDER BY version")
    assert [r["name"] for r in rows] == [m.name for m in migrate.available()]
    assert [r["version"] for r in rows] == sorted(r["version"] for r in rows)


def test_contract_tables_have_the_documented_columns(database_url: str) -> None:
    def columns(table: str) -> set[str]:
        rows = query(
            database_url,
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s",
            (table,),
        )
        return {r["column_name"] for r in rows}

    assert {
        "id",
        "published_on",
        "title",
        "body",
        "content_sha256",
        "file_id",
        "near_duplicate_of",
        "similarity",
        "ingested_at",
        "word_count",
        "language",
    } <= columns("documents")
    assert {
        "id",
        "name",
        "size",
        "sha256",
        "status",
        "reason",
        "detail",
        "document_id",
        "received_at",
        "finished_at",
    } <= columns("ingest_files")
    assert {"file_id", "record_no", "reason", "detail"} <= columns("rejections")
