"""Named queries: every name the code asks for exists, and every query in the files is asked for."""

from __future__ import annotations

import re
from pathlib import Path

from worker.db import queries

ROOT = Path(__file__).resolve().parents[2]
_ASKED = re.compile(r"""query\(\s*["']([a-z_]+\.[a-z_]+)["']\s*\)""")


def _asked() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "worker").rglob("*.py"):
        found |= set(_ASKED.findall(path.read_text("utf-8")))
    return found


def _defined() -> set[str]:
    return {f"{area}.{name}" for area in queries.areas() for name in queries.area(area)}


def test_every_query_the_code_asks_for_exists() -> None:
    assert _asked() - _defined() == set()


def test_every_query_in_the_files_is_used() -> None:
    assert _defined() - _asked() == set()


def test_no_inline_sql_in_the_package() -> None:
    statement = re.compile(r"""execute\(\s*f?["'](SELECT|INSERT|UPDATE|DELETE|WITH|LOCK|COPY)\b""")
    inline = [
        f"{path.relative_to(ROOT)}:{m.group(0)}"
        for path in (ROOT / "worker").rglob("*.py")
        for m in statement.finditer(path.read_text("utf-8"))
    ]
    assert inline == []


def test_every_area_file_parses_into_named_statements() -> None:
    for area in queries.areas():
        statements = queries.area(area)
        assert statements, area
        assert all(text.strip() for text in statements.values()), area
