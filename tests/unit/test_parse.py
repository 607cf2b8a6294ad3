"""Format detection and the parsers: dated text, JSON, NDJSON, HTML, gzip."""

from __future__ import annotations

import gzip
import json
import socket
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from worker import parse as registry
from worker.errors import Rejected
from worker.fates import Verdict
from worker.parse import decode as decode_module
from worker.parse import html, json_article, parse_file
from worker.reasons import REASONS
from worker.records import Article, ParseOptions

SAMPLES = sorted((Path(__file__).resolve().parents[2] / "samples").glob("*.txt"))

OPTIONS = ParseOptions()
UNDATED = ParseOptions(allow_undated=True)
BODY = "The minister said on Tuesday that the new rules would apply from spring."


def one(raw: bytes | str, name: str = "in.txt", options: ParseOptions = OPTIONS) -> Article:
    data = raw.encode() if isinstance(raw, str) else raw
    results = parse_file(data, name, options)
    assert len(results) == 1
    article = results[0]
    assert isinstance(article, Article)
    return article


def rejected(raw: bytes | str, name: str = "in.txt", options: ParseOptions = OPTIONS) -> Rejected:
    data = raw.encode() if isinstance(raw, str) else raw
    with pytest.raises(Rejected) as info:
        parse_file(data, name, options)
    assert info.value.reason in REASONS, "every code needs a REASONS entry"
    assert len(info.value.detail) > 20 and info.value.detail.endswith(".")
    return info.value


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail loudly if anything tries to open a connection or resolve a name."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    yield


# --- the reference dated-text format -------------------------------------------------


EXPECTED = {
    "000_616a4a96bdc0b7b1.txt": (
        date(2020, 11, 11),
        "Chrissy Teigen and John Legend appreciate the “love and support”",
        "make their voices heard.”",
    ),
    "001_5aa083964046aa2f.txt": (
        date(2022, 8, 9),
        "Going through miscarriage can be heartbreaking for parents",
        "Photo: Instagram/@chrissyteigen Photo: Instagram/@chrissyteigen",
    ),
    "002_49f4e5a3e62f3353.txt": (
        date(2021, 4, 30),
        'John Legend praised Chrissy Teigen\'s "instinct"',
        'The thoughts of others do not matter to me."',
    ),
}


def test_the_three_samples_are_present() -> None:
    assert [path.name for path in SAMPLES] == sorted(EXPECTED)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda path: path.name)
def test_reference_samples(path: Path) -> None:
    published, start, end = EXPECTED[path.name]
    article = one(path.read_bytes(), path.name)
    assert article.published_on == published
    assert article.date_text == published.isoformat()
    assert article.body.startswith(start)
    assert article.body.rstrip().endswith(end)
    assert "\n\n" in article.body  # paragraphs kept
    assert article.title is None


def header_variants() -> list[tuple[str, bytes]]:
    text = f"date 2021-04-30 {BODY}\n\nSecond paragraph.\n"
    return [
        ("crlf", text.replace("\n", "\r\n").encode()),
        ("cr", text.replace("\n", "\r").encode()),
        ("bom", b"\xef\xbb\xbf" + text.encode()),
        ("leading-space", ("  \n\t " + text).encode()),
        ("upper", text.replace("date", "DATE").encode()),
        ("title-case-colon", text.replace("date ", "Date: ").encode()),
        ("next-line", text.replace("2021-04-30 ", "2021-04-30\n").encode()),
        ("utf16", text.encode("utf-16")),
        ("gzip", gzip.compress(text.encode())),
    ]


@pytest.mark.parametrize(("label", "raw"), header_variants(), ids=lambda v: str(v)[:16])
def test_reference_format_variants(label: str, raw: bytes) -> None:
    article = one(raw, "x.txt")
    assert article.published_on == date(2021, 4, 30)
    assert article.body.startswith(BODY)
    assert "\r" not in article.body
    assert article.body.rstrip().endswith(BODY + "\n\nSecond paragraph.")


def test_sample_with_windows_line_endings_matches_original() -> None:
    raw = SAMPLES[0].read_bytes()
    crlf = raw.replace(b"\n", b"\r\n")
    assert one(crlf).body == one(raw).body


@pytest.mark.parametrize("bad", ["2021-02-30", "2021-13-01", "30/04/2021", "2021-4-3"])
def test_invalid_header_date_names_the_date(bad: str) -> None:
    error = rejected(f"date {bad} {BODY}")
    assert error.reason == "invalid_date"
    assert bad in error.detail


def test_datetime_in_header_keeps_the_day() -> None:
    assert one(f"date 2021-04-30T08:15:00Z {BODY}").published_on == date(2021, 4, 30)


def test_text_without_header_is_missing_date() -> None:
    assert rejected(BODY).reason == "missing_date"
    # A leading word "Date" is prose, not a header with a broken date.
    assert rejected(f"Date night ideas: {BODY}").reason == "missing_date"


def test_text_without_header_is_undated_when_allowed() -> None:
    article = one(f"\n\n{BODY}\n", options=UNDATED)
    assert article.published_on is None
    assert article.title is None
    assert article.body.startswith(BODY)


def test_bbc_article_undated_and_latin1() -> None:
    # As the BBC corpus's sport/199.txt: title, blank line, body; no date; Latin-1.
    raw = (
        "United sack Mills\n\n"
        "United have sacked striker Tom Mills after he failed a drugs test.\n\n"
        "The 25-year-old, a £15.8m signing from Parma last season, tested positive for a "
        "banned substance in October and may face a long suspension.\n"
    ).encode("latin-1")
    assert rejected(raw, "sport/199.txt").reason == "missing_date"
    article = one(raw, "sport/199.txt", UNDATED)
    assert article.body.startswith("United sack Mills\n\nUnited have sacked striker Tom Mills")
    assert "£15.8m" in article.body


# --- JSON -----------------------------------------------------------------------------


def as_json(**fields: object) -> str:
    return json.dumps(fields)


@pytest.mark.parametrize("key", json_article.DATE_KEYS)
def test_json_date_keys(key: str) -> None:
    assert one(as_json(**{key: "2020-11-11", "body": BODY}), "a.json").published_on == date(
        2020, 11, 11
    )


@pytest.mark.parametrize(
    "value", ["2020-11-11T23:59:59+05:00", "2020-11-11T00:00:00.123Z", "2020-11-11 10:00"]
)
def test_json_datetimes_keep_the_date_part(value: str) -> None:
    assert one(as_json(published_at=value, body=BODY), "a.json").published_on == date(2020, 11, 11)


@pytest.mark.parametrize("key", json_article.TITLE_KEYS)
def test_json_title_keys(key: str) -> None:
    assert one(as_json(date="2020-11-11", body=BODY, **{key: " T "})).title == "T"


@pytest.mark.parametrize("key", json_article.BODY_KEYS)
def test_json_body_keys(key: str) -> None:
    assert one(as_json(date="2020-11-11", **{key: BODY})).body == BODY


def test_json_full_article() -> None:
    article = one(
        json.dumps(
            {
                "datePublished": "2021-04-30",
                "headline": "Legend speaks",
                "articleBody": ["First paragraph.", "Second paragraph."],
                "url": "https://example.com/a",
                "source": {"id": "ex", "name": "Example News"},
                "ignored": {"deep": [1, 2, 3]},
            },
            indent=2,
        ),
        "article.json",
    )
    assert article == Article(
        published_on=date(2021, 4, 30),
        body="First paragraph.\n\nSecond paragraph.",
        title="Legend speaks",
        url="https://example.com/a",
        source="Example News",
        date_text="2021-04-30",
    )


def test_json_first_non_empty_key_wins() -> None:
    article = one(as_json(date="", published="2020-01-02", title=None, headline="H", body=BODY))
    assert (article.published_on, article.title) == (date(2020, 1, 2), "H")


def test_json_recognised_by_content_whatever_the_extension() -> None:
    assert one(as_json(date="2020-11-11", body=BODY), "drop.txt").body == BODY
    assert one(as_json(date="2020-11-11", body=BODY), "noext").body == BODY


@pytest.mark.parametrize(
    ("text", "code", "needle"),
    [
        ('{"date": "2020-11-11",\n "body": "x" "y"}', "malformed_json", "line 2, column"),
        ('{"date": "2020-11-11", "body": ', "malformed_json", "line 1, column"),
        ('{"date": "2021-02-30", "body": "' + BODY + '"}', "invalid_date", "2021-02-30"),
        ('{"date": 20201111, "body": "' + BODY + '"}', "invalid_date", "'date'"),
        ('{"body": "' + BODY + '"}', "missing_date", "datePublished"),
        ('{"date": "2020-11-11", "title": "t"}', "missing_body", "articleBody"),
        ('{"date": "2020-11-11", "body": 42}', "invalid_field", "'body'"),
        ('{"date": "2020-11-11", "body": "' + BODY + '", "url": [1]}', "invalid_field", "'url'"),
        ('["not", "an", "object"]', "unsupported_format", "array"),
        ("[" * 100_000 + "]" * 100_000, "malformed_json", "nested too deeply"),
    ],
    ids=[
        "syntax",
        "truncated",
        "impossible-date",
        "numeric-date",
        "no-date",
        "no-body",
        "body-type",
        "url-type",
        "array",
        "deep-nesting",
    ],
)
def test_json_rejections(text: str, code: str, needle: str) -> None:
    error = rejected(text, "a.json")
    assert error.reason == code
    assert needle in error.detail


def test_json_without_date_is_undated_when_allowed() -> None:
    assert one(as_json(body=BODY), "a.json", UNDATED).published_on is None


def test_prose_opening_with_a_bracket_is_text() -> None:
    article = one(f"[Updated] {BODY}", "note.txt", UNDATED)
    assert article.body.startswith("[Updated]")


# --- NDJSON ---------------------------------------------------------------------------


def ndjson_lines() -> str:
    return "\n".join(
        [
            as_json(date="2020-01-01", body=BODY, title="one"),
            "",
            '{"date": "2020-01-02", "body": broken}',
            "   ",
            as_json(date="2020-02-30", body=BODY),
            as_json(date="2020-01-04", text=BODY, title="four"),
            "[1, 2]",
        ]
    )


@pytest.mark.parametrize("name", ["feed.ndjson", "feed.jsonl", "feed.json", "feed"])
def test_ndjson_records_judged_one_by_one(name: str) -> None:
    results = parse_file(ndjson_lines().encode(), name, OPTIONS)
    assert [r.record for r in results] == [1, 2, 3, 4, 5]
    first, second, third, fourth, fifth = results
    assert isinstance(first, Article) and first.title == "one"
    assert isinstance(second, Verdict) and second.reason == "malformed_json"
    assert "line 3, column 32" in second.detail
    assert isinstance(third, Verdict) and third.reason == "invalid_date"
    assert "2020-02-30" in third.detail and "Line 5" in third.detail
    assert isinstance(fourth, Article) and fourth.title == "four" and fourth.record == 4
    assert isinstance(fifth, Verdict) and fifth.reason == "unsupported_format"
    assert all(r.reason in REASONS for r in results if isinstance(r, Verdict))


def test_ndjson_with_no_valid_record_returns_its_rejections() -> None:
    results = parse_file(b'{"a": 1}\n{bad\n', "x.jsonl", OPTIONS)
    assert [(r.reason, r.record) for r in results if isinstance(r, Verdict)] == [
        ("missing_body", 1),
        ("malformed_json", 2),
    ]


def test_ndjson_crlf_and_gzip() -> None:
    text = as_json(date="2020-01-01", body=BODY) + "\r\n" + as_json(date="2020-01-02", body=BODY)
    results = parse_file(gzip.compress(text.encode()), "feed.jsonl.gz", OPTIONS)
    assert [r.published_on for r in results if isinstance(r, Article)] == [
        date(2020, 1, 1),
        date(2020, 1, 2),
    ]


def test_single_line_jsonl_is_numbered() -> None:
    (article,) = parse_file(as_json(date="2020-01-01", body=BODY).encode(), "a.jsonl", OPTIONS)
    assert isinstance(article, Article) and article.record == 1


# --- HTML -----------------------------------------------------------------------------

PARAGRAPHS = [
    "Chrissy Teigen and John Legend appreciate the love and support they have received "
    "since losing their baby, the singer said in an interview this week.",
    "The model took to social media in September to discuss their pregnancy loss, and "
    "Legend has now thanked their fans for the support they have been shown.",
    "He said many people who had gone through it too had written to them, and that it "
    "had been encouraging to get so much love from people with similar experiences.",
]


def page(head: str = "", extra: str = "") -> str:
    body = "".join(f"<p>{text}</p>\n" for text in PARAGRAPHS)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Legend thanks fans | Example News</title>
<meta property="og:title" content="Legend thanks fans for support">
<meta property="og:site_name" content="Example News">
<link rel="canonical" href="https://news.example.com/2020/legend">
{head}
</head><body>
<nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav>
<article><h1>Legend thanks fans for support</h1>
{extra}{body}</article>
<footer>Copyright 2024 Example News. <a href="https://tracker.example.net/x">Privacy</a></footer>
<script>fetch("https://tracker.example.net/beacon");</script>
</body></html>"""


PUBLISHED_META = '<meta property="article:published_time" content="2020-11-11T09:30:00+00:00">'


@pytest.mark.usefixtures("no_network")
def test_html_article_page() -> None:
    article = one(page(head=PUBLISHED_META), "story.html")
    assert article.published_on == date(2020, 11, 11)
    assert article.title == "Legend thanks fans for support"
    assert article.body == "\n\n".join(PARAGRAPHS)  # no nav, footer, script, headline
    assert article.url == "https://news.example.com/2020/legend"
    assert article.source == "Example News"


@pytest.mark.usefixtures("no_network")
@pytest.mark.parametrize(
    ("head", "extra", "expected"),
    [
        ("", '<time datetime="2021-03-12T10:00">12 March</time>', date(2021, 3, 12)),
        (
            '<script type="application/ld+json">'
            '{"@type": "NewsArticle", "datePublished": "2019-05-06"}</script>',
            "",
            date(2019, 5, 6),
        ),
    ],
    ids=["time-element", "json-ld"],
)
def test_html_date_sources(head: str, extra: str, expected: date) -> None:
    assert one(page(head=head, extra=extra), "x").published_on == expected


@pytest.mark.usefixtures("no_network")
def test_html_without_date() -> None:
    # The footer's "Copyright 2024" must not be taken for the publication date.
    assert rejected(page(), "story.html").reason == "missing_date"
    assert one(page(), "story.html", UNDATED).published_on is None


@pytest.mark.usefixtures("no_network")
def test_html_detected_by_content_and_gzip() -> None:
    raw = gzip.compress(page(head=PUBLISHED_META).encode("cp1252"))
    article = one(raw, "download.bin.gz")
    assert article.published_on == date(2020, 11, 11)


@pytest.mark.usefixtures("no_network")
def test_html_fragment_by_extension() -> None:
    fragment = "".join(f"<p>{text}</p>" for text in PARAGRAPHS)
    article = one(fragment, "fragment.html", UNDATED)
    assert article.body == "\n\n".join(PARAGRAPHS)


@pytest.mark.usefixtures("no_network")
def test_html_without_text() -> None:
    raw = "<!DOCTYPE html><html><head><title>x</title></head><body><nav>Home</nav></body></html>"
    assert rejected(raw, "empty.html").reason == "body_too_short"


def test_trafilatura_not_run_on_other_formats(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> Article:
        raise AssertionError("HTML extraction ran on a non-HTML file")

    def no_detection(*args: object, **kwargs: object) -> None:
        raise AssertionError("charset detection ran on UTF-8")

    monkeypatch.setattr(html, "parse", fail)
    monkeypatch.setattr(decode_module, "from_bytes", no_detection)
    for path in SAMPLES:
        one(path.read_bytes(), path.name)
    one(as_json(date="2020-01-01", body="<p>markup inside JSON is just text</p>"), "a.html")
    one(f"date 2020-01-01 <b>{BODY}</b>", "a.html")


# --- gzip -----------------------------------------------------------------------------


def test_gzip_sample_equals_plain() -> None:
    raw = SAMPLES[1].read_bytes()
    assert one(gzip.compress(raw), "x.txt.gz") == one(raw, "x.txt")


def test_gzip_concatenated_members() -> None:
    text = f"date 2020-01-01 {BODY}\n\nmore"
    half = len(text) // 2
    raw = gzip.compress(text[:half].encode()) + gzip.compress(text[half:].encode())
    assert one(raw, "x.gz").body == f"{BODY}\n\nmore"


def test_gzip_bomb_is_stopped_at_the_cap() -> None:
    bomb = gzip.compress(b"date 2020-01-01 " + b" " * 50_000_000, compresslevel=9)
    assert len(bomb) < 100_000
    error = rejected(bomb, "bomb.gz", ParseOptions(max_decompressed_bytes=1_000_000))
    assert error.reason == "too_large"
    assert "1000000" in error.detail


def test_gzip_exactly_at_the_cap_is_accepted() -> None:
    text = f"date 2020-01-01 {BODY}".encode()
    raw = gzip.compress(text)
    assert one(raw, "x.gz", ParseOptions(max_decompressed_bytes=len(text))).body == BODY
    error = rejected(raw, "x.gz", ParseOptions(max_decompressed_bytes=len(text) - 1))
    assert error.reason == "too_large"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda raw: raw[: len(raw) // 2],  # truncated
        lambda raw: raw[:12] + bytes(b ^ 0x55 for b in raw[12:40]) + raw[40:],  # damaged
        lambda raw: raw + b"trailing junk",
        lambda raw: b"\x1f\x8b\x08\x00",  # header only
    ],
    ids=["truncated", "damaged", "trailing", "header-only"],
)
def test_corrupt_gzip(mangle: object) -> None:
    raw = gzip.compress(f"date 2020-01-01 {BODY} {BODY}".encode())
    assert callable(mangle)
    assert rejected(mangle(raw), "x.gz").reason == "corrupt_archive"


def test_gzip_inside_gzip_is_refused() -> None:
    raw = gzip.compress(gzip.compress(f"date 2020-01-01 {BODY}".encode()))
    assert rejected(raw, "x.gz.gz").reason == "unsupported_format"


# --- whole-file rejections --------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"", "empty_file"),
        (b" \r\n\t\n", "empty_file"),
        (b"\xef\xbb\xbf\n\n", "empty_file"),
        (gzip.compress(b""), "empty_file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not_text"),
        (b"%PDF-1.4\n", "not_text"),
        (b'<?xml version="1.0"?><rss><channel><item/></channel></rss>', "unsupported_format"),
    ],
)
def test_whole_file_rejections(raw: bytes, code: str) -> None:
    assert rejected(raw, "x").reason == code


def test_file_over_max_file_bytes() -> None:
    error = rejected(f"date 2020-01-01 {BODY}", "x.txt", ParseOptions(max_file_bytes=10))
    assert error.reason == "too_large"


def test_registry_documents_its_formats() -> None:
    assert registry.__doc__ and "content first" in registry.__doc__
    assert json_article.__doc__ and "datePublished" in json_article.__doc__
