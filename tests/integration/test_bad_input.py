"""The bad-input catalogue, through the real running stack.

Every case below is dropped, together with good files, into the inbox of one
real watcher + Celery worker over real PostgreSQL and Valkey. Each test then
checks one promise: the ledger fate and reason, a detail a person can act on,
the `.error.json` sidecar (under errors/) of the rejected file, that the good files were
stored, and that neither process died on the way.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.support import Stack, query, sidecar_of, wait_for
from worker.db.databases import create_database, drop_database
from worker.embedded import EmbeddedValkey
from worker.reasons import REASONS

MAX_FILE_BYTES = 200_000
MAX_DECOMPRESSED_BYTES = 1_000_000
NEXT_YEAR = date.today().year + 1


def article(tag: str, day: str = "2021-05-04", header: str = "date {day} ") -> bytes:
    """A good dated article whose body is unique to `tag`."""
    return (
        header.format(day=day)
        + f"The harbour board met on Monday to settle the {tag} question.\n\n"
        f"Members said the {tag} plan would change the ferry timetable for the summer, "
        "and the council will publish the details next week.\n"
    ).encode()


@dataclass(frozen=True, slots=True)
class Case:
    name: str  # as dropped, relative to the inbox
    data: bytes
    status: str
    reason: str | None = None
    detail: str = r"."  # a regex the detail must contain
    body: str | None = None  # a text the stored body must contain


_RNG = random.Random(20240501)
GOOD_GZIP = gzip.compress(article("gzip"))
_NOISE = random.Random(0)
LEGACY_NOISE = bytes(
    0x20 if _NOISE.random() < 0.25 else _NOISE.randrange(0xC0, 0x100) for _ in range(600)
)
HEX_DUMP = "\n".join(
    f"{offset:08x}: " + " ".join(_NOISE.randbytes(2).hex() for _ in range(8))
    for offset in range(0, 320, 16)
)

CASES: list[Case] = [
    # -- rejected, one reason each ------------------------------------------
    Case("empty.txt", b"", "rejected", "empty_file", r"empty"),
    Case("blank.txt", b"  \n\r\n\t \n", "rejected", "empty_file", r"white space"),
    Case("image.txt", b"\x89PNG\r\n\x1a\n" + _RNG.randbytes(2048), "rejected", "not_text", "PNG"),
    Case("noise.bin", _RNG.randbytes(4096), "rejected", "not_text", r"binary"),
    Case(
        "bom-but-latin1.txt",
        b"\xef\xbb\xbfdate 2021-01-01 Caf\xe9 society, and a long enough body here.",
        "rejected",
        "undecodable",
        r"UTF-8 byte order mark.*byte \d+",
    ),
    Case("numbers.json", b"[1, 2, 3]\n", "rejected", "unsupported_format", r"an array"),
    Case(
        "feed.xml",
        b'<?xml version="1.0"?>\n<rss version="2.0"><channel><title>x</title></channel></rss>\n',
        "rejected",
        "unsupported_format",
        r"XML",
    ),
    Case(
        "broken.json",
        b'{\n  "date": "2021-01-01",\n  "title": "Broken"\n  "body": "text"\n}\n',
        "rejected",
        "malformed_json",
        r"line 4, column 3",
    ),
    Case(
        "no-date.txt",
        b"Council approves the ferry timetable after a long debate on Monday night.\n",
        "rejected",
        "missing_date",
        r"date YYYY-MM-DD",
    ),
    Case(
        "no-date.json",
        json.dumps({"title": "Undated", "body": "A body that is long enough to keep."}).encode(),
        "rejected",
        "missing_date",
        r"no date",
    ),
    Case("feb30.txt", article("feb30", "2021-02-30"), "rejected", "invalid_date", r"2021-02-30"),
    Case("old.txt", article("old", "1850-06-01"), "rejected", "date_out_of_range", r"1900"),
    Case(
        "future.txt",
        article("future", f"{NEXT_YEAR}-12-31"),
        "rejected",
        "date_out_of_range",
        r"future",
    ),
    Case("short.txt", b"date 2021-01-01 Too short.", "rejected", "body_too_short", r"at least 20"),
    Case(
        "huge.txt",
        b"date 2021-01-01 " + b"word " * (MAX_FILE_BYTES // 5),
        "rejected",
        "too_large",
        rf"limit is {MAX_FILE_BYTES}",
    ),
    Case(
        "bomb.txt.gz",
        gzip.compress(b"date 2021-01-01 " + b"word " * (MAX_DECOMPRESSED_BYTES // 4)),
        "rejected",
        "too_large",
        rf"max_decompressed_bytes \({MAX_DECOMPRESSED_BYTES}",
    ),
    Case("cut.txt.gz", GOOD_GZIP[:-12], "rejected", "corrupt_archive", r"truncated"),
    Case(
        "mangled.txt.gz",
        GOOD_GZIP[:12] + bytes(b ^ 0x5A for b in GOOD_GZIP[12:]),
        "rejected",
        "corrupt_archive",
        r"corrupt",
    ),
    Case(
        "no-body.json",
        json.dumps({"date": "2021-01-01", "title": "Headline only"}).encode(),
        "rejected",
        "missing_body",
        r"no text",
    ),
    Case(
        "number-body.json",
        json.dumps({"date": "2021-01-01", "body": 42}).encode(),
        "rejected",
        "invalid_field",
        r"'body' holds a number",
    ),
    Case(
        "all-bad.ndjson",
        b'{"date": "2021-01-01"}\nnot json\n',
        "rejected",
        "no_valid_records",
        r"2 records: 0 stored, 0 duplicate, 2 rejected",
    ),
    Case(
        "-rf 'odd' name.txt",
        b"An undated text with an odd name, long enough to count.\n",
        "rejected",
        "missing_date",
    ),
    Case(  # random Cyrillic letters (cp1251 high bytes): decodes, forms no words
        "legacy-noise.txt",
        b"date 2021-05-04\n" + LEGACY_NOISE,
        "rejected",
        "gibberish",
        r"forms no words: capitals and small letters alternate at random",
    ),
    Case(
        "hexdump.json",
        json.dumps({"date": "2021-05-04", "body": HEX_DUMP}).encode(),
        "rejected",
        "gibberish",
        r"hex dump",
    ),
    Case(
        "nul-title.json",
        json.dumps(
            {"date": "2021-05-04", "title": "Ferry\u0000news", "body": "The nul case."}
        ).encode(),
        "rejected",
        "invalid_characters",
        r"field 'title' holds a NUL character",
    ),
    Case(
        "surrogate-body.json",
        b'{"date": "2021-05-04", "body": "A lone surrogate \\ud800 in the body text."}',
        "rejected",
        "invalid_characters",
        r"field 'body' holds a lone surrogate \(U\+D800\)",
    ),
    Case(
        "too-many.ndjson",
        b"{}\n" * 10_001,  # the default max_records_per_file is 10,000
        "rejected",
        "too_many_records",
        r"more than 10000 records .* max_records_per_file \(10000\)",
    ),
    # -- good files, in every supported shape ----------------------------------
    Case("plain.txt", article("plain"), "stored", body="the plain question"),
    Case(
        "robust header.txt",
        b"\xef\xbb\xbf \r\n\tDATE: 2021-08-09\r\n"
        + article("robust", header="").replace(b"\n", b"\r\n"),
        "stored",
        body="the robust question",
    ),
    Case("gzipped.txt.gz", GOOD_GZIP, "stored", body="the gzip question"),
    Case(
        "utf16.txt",
        "date 2021-06-01 Naïve café owners — “quoted” — met the harbour board.\n\n"
        "They asked for a longer summer season.".encode("utf-16"),
        "stored",
        body="Naïve café owners — “quoted”",
    ),
    Case(
        "latin1.txt",
        "date 2021-07-01 Ferry fares rise\n\nA return ticket to the island will cost "
        "£25 from June, the operator said, up from £21 last year. Passengers groups "
        "said the rise was steep for families who travel every weekend.".encode("latin-1"),
        "stored",
        body="will cost £25 from June",
    ),
    # Names: spaces, non-ASCII letters, quotes, leading dashes, a newline.
    Case("with space.txt", article("space"), "stored"),
    Case("ünïcødé Ελληνικά.txt", article("unicode"), "stored"),
    Case("quote'\"s.txt", article("quotes"), "stored"),
    Case("--leading-dashes.txt", article("dashes"), "stored"),
    Case("line\nbreak.txt", article("newline"), "stored"),
    Case("nested/folder/deep.txt", article("nested"), "stored"),
]

JSON_ARTICLE = {
    "headline": "Harbour board approves new ferry timetable",
    "published_at": "2022-03-04T10:00:00Z",
    "articleBody": [
        "The harbour board approved the new ferry timetable on Thursday evening.",
        "Sailings will start at six in the morning from the first of May.",
    ],
    "url": "https://news.example.org/harbour/timetable",
    "source": {"id": "gazette", "name": "The Coast Gazette"},
}

HTML_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Lighthouse keepers return to Skerry Point | The Coast Gazette</title>
  <meta property="og:title" content="Lighthouse keepers return to Skerry Point">
  <meta property="og:site_name" content="The Coast Gazette">
  <meta property="article:published_time" content="2023-05-14T08:30:00+00:00">
  <link rel="canonical" href="https://news.example.org/2023/05/lighthouse">
</head>
<body>
  <header>
    <nav><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a></nav>
  </header>
  <main>
    <article>
      <h1>Lighthouse keepers return to Skerry Point</h1>
      <p>For the first time in forty years, two keepers will live at the Skerry Point
      lighthouse this summer, the trust that owns the building announced on Sunday.</p>
      <p>The trust said the keepers would look after the lamp room, guide visitors up the
      spiral stairs and record the weather every three hours, as their predecessors did.</p>
      <p>Local fishermen welcomed the news. "It is good to see a light in the window again,"
      said one skipper, who has sailed past the point every morning since 1979.</p>
    </article>
  </main>
  <footer>Copyright 2024 The Coast Gazette. All rights reserved.</footer>
</body>
</html>
"""

NDJSON_LINES = [
    {"date": "2021-03-01", "title": "First", "body": "The first record of the batch is fine."},
    '{"date": "2021-03-02", "body": "a line cut short',
    {"date": "2021-03-03", "title": "Third", "body": "The third record is a new article too."},
    {"date": "2021-03-04", "title": "Again", "body": "The first record of the batch is fine."},
    {"date": "2021-02-30", "body": "A record whose date does not exist at all."},
    {"title": "Undated", "body": "A record that carries no date field at all."},
    # Languages are read for the whole batch after parsing: a record that forms no
    # words still becomes its own rejection, beside the stored ones.
    {"date": "2021-03-06", "body": HEX_DUMP},
]

CASES += [
    Case("article.json", json.dumps(JSON_ARTICLE).encode(), "stored", body="six in the morning"),
    Case("lighthouse.html", HTML_PAGE.encode(), "stored", body="spiral stairs"),
    Case(
        "records.ndjson",
        "\n".join(x if isinstance(x, str) else json.dumps(x) for x in NDJSON_LINES).encode(),
        "stored",
        detail=r"7 records: 2 stored, 1 duplicate, 4 rejected\.",
    ),
    Case(
        "bad-chars.ndjson",
        b'{"date": "2021-03-05", "body": "A clean record next to a bad one."}\n'
        b'{"date": "2021-03-05", "body": "A record with a \\u0000 inside."}\n',
        "stored",
        detail=r"2 records: 1 stored, 0 duplicate, 1 rejected\.",
        body="A clean record next to a bad one.",
    ),
    Case(  # compressed, with a BOM and Windows line endings
        "export.jsonl.gz",
        gzip.compress(
            b"\xef\xbb\xbf"
            + b"\r\n".join(
                json.dumps(
                    {"date": f"2021-04-0{i}", "body": f"Exported record number {i}."}
                ).encode()
                for i in (1, 2)
            )
            + b"\r\n"
        ),
        "stored",
        detail=r"2 records: 2 stored, 0 duplicate, 0 rejected\.",
        body="Exported record number",
    ),
]

# Names that are not valid UTF-8 on disk: the ledger records them with \\x escapes.
RAW_NAMES = {
    b"caf\xe9 latin1 name.txt": (article("rawname"), "stored", None),
    b"bad\xff rejected.txt": (
        b"No header in this one, but enough words.\n",
        "rejected",
        "missing_date",
    ),
}


def _db_name(raw: bytes) -> str:
    return raw.decode("utf-8", "backslashreplace")


@dataclass(slots=True)
class Catalogue:
    stack: Stack
    outside: Path  # a file outside the inbox, the target of a dropped symlink
    outside_stat: os.stat_result
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # by ledger name

    def row(self, name: str) -> dict[str, Any]:
        assert name in self.files, f"no ledger row for {name!r}; rows: {sorted(self.files)}"
        return self.files[name]


def _own_broker(valkey: EmbeddedValkey, db: int) -> str:
    """A Valkey database of our own: per-test fixtures flush db 0 under a running stack."""
    return valkey.empty_database(db)


@pytest.fixture(scope="module")
def catalogue(
    pg_admin_url: str,
    migrated_template: str,
    valkey: EmbeddedValkey,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Catalogue]:
    root = tmp_path_factory.mktemp("catalogue")
    url = create_database(pg_admin_url, template=migrated_template)
    stack = Stack(
        root,
        url,
        _own_broker(valkey, 7),
        # A FIFO is never "closed after writing", so no inotify event makes it ready:
        # the periodic rescan (30 s by default) is what takes it. Short here.
        INGEST_RESCAN_INTERVAL_S="2",
        INGEST_MAX_FILE_BYTES=str(MAX_FILE_BYTES),
        INGEST_MAX_DECOMPRESSED_BYTES=str(MAX_DECOMPRESSED_BYTES),
    )
    outside = root / "outside" / "secret.txt"
    outside.parent.mkdir()
    outside.write_bytes(article("outside"))
    os.utime(outside, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    try:
        stack.start()
        # Once a first file is stored, both processes are past their start-up catch-up:
        # the catalogue then travels the live path (inotify events), not the initial scan.
        stack.drop("probe.txt", article("probe"))
        stack.wait_finished(1, timeout=60)
        expected = 1
        for case in CASES:
            stack.drop(case.name, case.data)
            expected += 1
        for raw, (data, _status, _reason) in RAW_NAMES.items():
            tmp = os.fsencode(stack.inbox) + b"/.raw.tmp"
            Path(os.fsdecode(tmp)).write_bytes(data)
            os.rename(tmp, os.fsencode(stack.inbox) + b"/" + raw)
            expected += 1
        os.symlink(outside, stack.inbox / "link.txt")
        os.symlink(outside.parent, stack.inbox / "linked folder")
        os.mkfifo(stack.inbox / "pipe.txt")
        expected += 3
        rows = stack.wait_finished(expected, timeout=90)
        wait_for(lambda: not stack.spool_files(), timeout=30, what="an empty spool")
        found = Catalogue(stack, outside, outside.stat())
        found.files = {row["name"]: row for row in rows}
        yield found
    finally:
        stack.stop()
        drop_database(pg_admin_url, url)


def _sentence(text: str | None) -> bool:
    return bool(text) and len(text or "") >= 20 and (text or "").rstrip().endswith((".", ")"))


@pytest.mark.parametrize("case", CASES, ids=lambda c: repr(c.name))
def test_each_case_gets_its_fate(catalogue: Catalogue, case: Case) -> None:
    row = catalogue.row(case.name)
    assert (row["status"], row["reason"]) == (case.status, case.reason), row["detail"]
    assert row["finished_at"] is not None
    if case.status == "rejected":
        assert case.reason in REASONS  # documented in the README table
        assert _sentence(row["detail"]), row["detail"]
        assert re.search(case.detail, row["detail"]), row["detail"]
        assert row["document_id"] is None
        moved = catalogue.stack.work / "rejected" / case.name
        assert moved.read_bytes() == case.data
        sidecar = json.loads(sidecar_of(catalogue.stack.work, moved).read_text("utf-8"))
        assert sidecar["reason"] == case.reason
        assert sidecar["detail"] == row["detail"]
        assert sidecar["name"] == case.name
        assert sidecar["file_id"] == row["id"]
    else:
        assert re.search(case.detail, row["detail"] or "."), row["detail"]
        moved = catalogue.stack.work / "processed" / case.name
        assert moved.read_bytes() == case.data
        assert not sidecar_of(catalogue.stack.work, moved).exists()
        assert row["sha256"] and row["size"] == len(case.data)


def test_good_files_are_stored_with_their_bodies(catalogue: Catalogue) -> None:
    docs = query(catalogue.stack.database_url, "SELECT * FROM documents")
    by_file: dict[int, list[dict[str, Any]]] = {}
    for doc in docs:
        by_file.setdefault(doc["file_id"], []).append(doc)
    for case in CASES:
        if case.status != "stored":
            continue
        row = catalogue.row(case.name)
        stored = by_file.get(row["id"], [])
        assert stored, f"{case.name!r} has no document"
        if row["records"] is None:  # a single-record file points at its document
            assert row["document_id"] == stored[0]["id"]
        for doc in stored:
            assert doc["published_on"] is not None and doc["word_count"] > 0
            if len(doc["body"]) > 100:  # shorter texts may be too short to tell
                assert doc["language"] == "en", (case.name, doc["language"], doc["body"][:80])
        if case.body is not None:
            assert any(case.body in doc["body"] for doc in stored), stored[0]["body"]


def test_decoding_keeps_every_character(catalogue: Catalogue) -> None:
    latin1 = _document(catalogue, "latin1.txt")
    assert "£25" in latin1["body"] and "£21" in latin1["body"]
    assert latin1["title"] is None
    utf16 = _document(catalogue, "utf16.txt")
    assert utf16["body"].startswith("Naïve café owners — “quoted” — met")
    robust = _document(catalogue, "robust header.txt")
    assert str(robust["published_on"]) == "2021-08-09"
    assert "\r" not in robust["body"] and "\n\n" in robust["body"]


def test_json_article_fields(catalogue: Catalogue) -> None:
    doc = _document(catalogue, "article.json")
    assert str(doc["published_on"]) == "2022-03-04"
    assert doc["title"] == JSON_ARTICLE["headline"]
    assert doc["url"] == JSON_ARTICLE["url"]
    assert doc["source"] == "The Coast Gazette"
    assert doc["body"] == "\n\n".join(JSON_ARTICLE["articleBody"])


def test_html_page_fields(catalogue: Catalogue) -> None:
    doc = _document(catalogue, "lighthouse.html")
    assert str(doc["published_on"]) == "2023-05-14"
    assert doc["title"] == "Lighthouse keepers return to Skerry Point"
    assert doc["body"].startswith("For the first time in forty years")
    assert doc["body"].count("\n\n") == 2  # three paragraphs
    for chrome in ("Home", "Copyright", "Sport"):
        assert chrome not in doc["body"]


def test_ndjson_gives_each_record_its_own_fate(catalogue: Catalogue) -> None:
    url = catalogue.stack.database_url
    row = catalogue.row("records.ndjson")
    assert row["records"] == 7
    docs = query(
        url,
        "SELECT id, record_no, title, language FROM documents WHERE file_id = %s "
        "ORDER BY record_no",
        (row["id"],),
    )
    assert [(d["record_no"], d["title"], d["language"]) for d in docs] == [
        (1, "First", "en"),
        (3, "Third", "en"),
    ]
    rejected = query(
        url,
        "SELECT record_no, reason, detail FROM rejections WHERE file_id = %s ORDER BY 1",
        (row["id"],),
    )
    assert [(r["record_no"], r["reason"]) for r in rejected] == [
        (2, "malformed_json"),
        (5, "invalid_date"),
        (6, "missing_date"),
        (7, "gibberish"),
    ]
    assert rejected[0]["detail"].startswith("The JSON is malformed at line 2, column")
    assert all(r["detail"].startswith(("Line ", "The JSON")) for r in rejected[:-1])
    assert "hex dump" in rejected[-1]["detail"]
    repeats = query(
        url,
        "SELECT record_no, document_id FROM duplicate_records WHERE file_id = %s",
        (row["id"],),
    )
    assert repeats == [{"record_no": 4, "document_id": docs[0]["id"]}]
    # A file with a stored record is not rejected: no sidecar, in processed/.
    assert (catalogue.stack.work / "processed" / "records.ndjson").exists()
    # The all-bad file lists every record in its sidecar.
    sidecar = json.loads(
        (catalogue.stack.work / "errors" / "rejected" / "all-bad.ndjson.error.json").read_text(
            "utf-8"
        )
    )
    assert [(r["record"], r["reason"]) for r in sidecar["records"]] == [
        (1, "missing_body"),
        (2, "malformed_json"),
    ]


def test_bad_characters_reject_only_their_record(catalogue: Catalogue) -> None:
    row = catalogue.row("bad-chars.ndjson")
    rejected = query(
        catalogue.stack.database_url,
        "SELECT record_no, reason, detail FROM rejections WHERE file_id = %s",
        (row["id"],),
    )
    assert [(r["record_no"], r["reason"]) for r in rejected] == [(2, "invalid_characters")]
    assert "field 'body' holds a NUL character" in rejected[0]["detail"]


def test_names_are_recorded_exactly(catalogue: Catalogue) -> None:
    names = set(catalogue.files)
    for case in CASES:
        assert case.name in names
    assert "line\nbreak.txt" in names
    for raw, (data, status, reason) in RAW_NAMES.items():
        row = catalogue.row(_db_name(raw))
        assert (row["status"], row["reason"]) == (status, reason)
        folder = "processed" if status == "stored" else "rejected"
        moved = os.fsencode(catalogue.stack.work / folder) + b"/" + raw
        with open(moved, "rb") as handle:  # the bytes of the name survive on disk
            assert handle.read() == data
        if status == "rejected":
            with open(sidecar_of(catalogue.stack.work, moved), "rb") as handle:
                sidecar = json.loads(handle.read().decode("utf-8"))
            assert sidecar["name"] == _db_name(raw) and sidecar["reason"] == reason


def test_symlink_is_rejected_and_never_followed(catalogue: Catalogue) -> None:
    row = catalogue.row("link.txt")
    assert (row["status"], row["reason"]) == ("rejected", "symlink")
    assert _sentence(row["detail"])
    assert row["sha256"] is None  # nothing was read through it
    moved = catalogue.stack.work / "rejected" / "link.txt"
    assert moved.is_symlink()
    sidecar = json.loads(sidecar_of(catalogue.stack.work, moved).read_text("utf-8"))
    assert (sidecar["reason"], sidecar["name"]) == ("symlink", "link.txt")
    after = catalogue.outside.stat()
    before = catalogue.outside_stat
    assert after.st_mtime_ns == before.st_mtime_ns and after.st_size == before.st_size
    assert catalogue.outside.read_bytes() == article("outside")
    # A link to a folder is an entry like any other: rejected, never walked into.
    folder = catalogue.row("linked folder")
    assert (folder["status"], folder["reason"]) == ("rejected", "symlink")
    assert (catalogue.stack.work / "rejected" / "linked folder").is_symlink()
    bodies = query(catalogue.stack.database_url, "SELECT body FROM documents")
    assert not any("the outside question" in b["body"] for b in bodies)


def test_fifo_gets_a_fate_without_blocking(catalogue: Catalogue) -> None:
    row = catalogue.row("pipe.txt")
    assert (row["status"], row["reason"]) == ("rejected", "not_a_file")
    assert _sentence(row["detail"])
    moved = catalogue.stack.work / "rejected" / "pipe.txt"
    assert os.path.lexists(moved)
    sidecar = json.loads(sidecar_of(catalogue.stack.work, moved).read_text("utf-8"))
    assert sidecar["reason"] == "not_a_file"


def test_every_file_has_exactly_one_final_fate(catalogue: Catalogue) -> None:
    rows = query(catalogue.stack.database_url, "SELECT name, status, reason FROM ingest_files")
    assert len(rows) == len(CASES) + len(RAW_NAMES) + 4  # + probe, 2 symlinks, FIFO
    assert {r["status"] for r in rows} <= {"stored", "duplicate", "rejected"}
    reasons = query(catalogue.stack.database_url, "SELECT reason FROM rejections")
    assert {r["reason"] for r in [*rows, *reasons] if r.get("reason")} <= set(REASONS)
    assert not catalogue.stack.spool_files()
    # Nothing left to rot in the inbox (a producer's empty folders may stay).
    leftovers = [
        p
        for p in catalogue.stack.inbox.rglob("*")
        if ".ingest" not in p.relative_to(catalogue.stack.inbox).parts and not p.is_dir()
    ]
    assert leftovers == []


def test_watcher_and_worker_are_still_running(catalogue: Catalogue) -> None:
    stack = catalogue.stack
    for key in ("watcher", "worker"):
        assert stack.processes[key].poll() is None, stack.log(key)[-3000:]
    # ...and still working: one more good file after the whole catalogue.
    stack.drop("after.txt", article("after"))
    wait_for(
        lambda: any(r["name"] == "after.txt" and r["status"] == "stored" for r in stack.files()),
        timeout=30,
        what="after.txt stored",
    )
    assert "Traceback" not in stack.log("worker"), stack.log("worker")[-3000:]
    assert "Traceback" not in stack.log("watcher"), stack.log("watcher")[-3000:]


def _document(catalogue: Catalogue, name: str) -> dict[str, Any]:
    row = catalogue.row(name)
    docs = query(
        catalogue.stack.database_url, "SELECT * FROM documents WHERE id = %s", (row["document_id"],)
    )
    assert docs, f"{name!r}: {row}"
    return docs[0]


def test_undated_text_is_stored_when_allowed(
    pg_admin_url: str, migrated_template: str, valkey: EmbeddedValkey, tmp_path: Path
) -> None:
    url = create_database(pg_admin_url, template=migrated_template)
    stack = Stack(tmp_path, url, _own_broker(valkey, 8), INGEST_ALLOW_UNDATED="true")
    try:
        stack.start()
        stack.drop("undated.txt", b"Ferry Timetable\n\nThe new timetable starts in May.\n")
        stack.drop("undated.json", json.dumps({"body": "A JSON article without a date."}))
        stack.drop("dated.txt", article("dated"))
        stack.drop("feb30.txt", article("feb30", "2021-02-30"))  # a bad date is still bad
        rows = {r["name"]: r for r in stack.wait_finished(4, timeout=60)}
        assert {n: (r["status"], r["reason"]) for n, r in rows.items()} == {
            "undated.txt": ("stored", None),
            "undated.json": ("stored", None),
            "dated.txt": ("stored", None),
            "feb30.txt": ("rejected", "invalid_date"),
        }
        docs = {d["file_id"]: d for d in stack.documents()}
        undated = docs[rows["undated.txt"]["id"]]
        assert undated["published_on"] is None
        assert undated["body"] == "Ferry Timetable\n\nThe new timetable starts in May."
        assert docs[rows["undated.json"]["id"]]["published_on"] is None
        assert str(docs[rows["dated.txt"]["id"]]["published_on"]) == "2021-05-04"
        for key in ("watcher", "worker"):
            assert stack.processes[key].poll() is None
    finally:
        stack.stop()
        drop_database(pg_admin_url, url)
