"""Named queries, kept by area in `sql/queries/<area>.sql`, read once per process.

A file holds several queries, each after a `-- name: <name>` line; code asks
for a query by `area.name`. Values always go as parameters; identifiers, where
a statement needs one, through `psycopg.sql`.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from psycopg import sql

_NAME = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)


@cache
def area(name: str) -> dict[str, str]:
    """Every query of one area file, by name."""
    text = resources.files("worker.db").joinpath("sql", "queries", f"{name}.sql").read_text("utf-8")
    pieces = _NAME.split(text)
    # pieces: [header, name1, body1, name2, body2, ...]
    return {pieces[i]: pieces[i + 1].strip() for i in range(1, len(pieces), 2)}


def areas() -> list[str]:
    folder = resources.files("worker.db").joinpath("sql", "queries")
    return sorted(p.name.removesuffix(".sql") for p in folder.iterdir() if p.name.endswith(".sql"))


@cache
def query(qualified: str) -> sql.SQL:
    """`area.name` -> the statement, as trusted SQL text from the package."""
    area_name, _, name = qualified.partition(".")
    try:
        text = area(area_name)[name]
    except (KeyError, FileNotFoundError) as exc:
        raise KeyError(f"no query named {qualified!r}") from exc
    return sql.SQL(text)  # type: ignore[arg-type,unused-ignore]
