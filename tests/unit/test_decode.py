"""Bytes -> text: encodings, normalisation, binary refusal."""

from __future__ import annotations

import codecs
import unicodedata
import zlib

import pytest

from worker.errors import Rejected
from worker.parse import decode as decode_module
from worker.parse.decode import decode
from worker.reasons import REASONS

TEXT = "date 2020-11-11 Crème brûlée — “quoted” and £5.\n\nSecond paragraph."


def rejected(raw: bytes) -> Rejected:
    with pytest.raises(Rejected) as info:
        decode(raw)
    assert info.value.reason in REASONS
    assert info.value.detail.endswith(".")
    return info.value


@pytest.mark.parametrize(
    "raw",
    [
        TEXT.encode("utf-8"),
        codecs.BOM_UTF8 + TEXT.encode("utf-8"),
        codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"),
        codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"),
        codecs.BOM_UTF32_LE + TEXT.encode("utf-32-le"),
        TEXT.encode("utf-16-le"),  # no BOM: spotted by its NUL pattern
        TEXT.encode("utf-16-be"),
    ],
    ids=["utf8", "utf8-bom", "utf16le-bom", "utf16be-bom", "utf32le-bom", "utf16le", "utf16be"],
)
def test_unicode_encodings(raw: bytes) -> None:
    assert decode(raw) == TEXT


def test_latin1_bbc_article_keeps_pound_sign() -> None:
    # Like the BBC corpus's sport/199.txt: a title line, then prose saved as Latin-1.
    raw = (
        "United sack Mills\n\n"
        "United have sacked striker Tom Mills after he failed a drugs test.\n\n"
        "The 25-year-old, a £15.8m signing from Parma last season, tested positive for a "
        "banned substance in October and may face a long suspension.\n"
    ).encode("latin-1")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = decode(raw)
    assert text.startswith("United sack Mills\n")
    assert "a £15.8m signing from Parma" in text


@pytest.mark.parametrize(
    ("sample", "encoding"),
    [
        (
            "Le café coûte 3 € à Paris. Ça va très bien, merci. Où est la gare? Élève naïf.",
            "cp1252",
        ),
        (
            "Der schnelle braune Fuchs springt über den faulen Hund. Größe, Äpfel, Straße.",
            "latin-1",
        ),
        ("Быстрая коричневая лиса прыгает через ленивую собаку. Москва - столица.", "cp1251"),
    ],
)
def test_legacy_single_byte_encodings(sample: str, encoding: str) -> None:
    assert decode(sample.encode(encoding)) == sample


def test_utf8_path_skips_charset_detection(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("charset detection ran on valid UTF-8")

    monkeypatch.setattr(decode_module, "from_bytes", fail)
    assert decode(TEXT.encode()) == TEXT


def test_text_is_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Café naïve")
    assert decomposed != "Café naïve"
    assert decode(decomposed.encode()) == "Café naïve"


def test_control_characters_removed_but_line_structure_kept() -> None:
    raw = "a\x00b".encode("utf-16-le")  # NUL inside UTF-16 is just a character
    assert decode(codecs.BOM_UTF16_LE + raw) == "ab"
    assert decode(b"one\ttwo\r\nthree\x07\x1b four\x7f\nfive") == "one\ttwo\r\nthree four\nfive"
    assert decode("x\u0085y\u009fz".encode()) == "xyz"  # C1 controls
    assert decode(b"page one\x0cpage two\x0bline") == "page one\npage two\nline"


def test_stray_bom_removed() -> None:
    assert decode(codecs.BOM_UTF8 + "\ufeffdate 2020-01-01 x".encode()) == "date 2020-01-01 x"


@pytest.mark.parametrize(
    "raw",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj",
        b"PK\x03\x04\x14\x00\x00\x00\x08\x00",
        b"\xff\xd8\xff\xe0\x00\x10JFIF",
        b"\x7fELF\x02\x01\x01",
        b"date 2020-01-01 text with a NUL\x00 byte in the middle of an article body",
        b"abc\x01\x02\x03\x04\x05\x06def\x07 ghi",
        zlib.compress(b"deflate is binary " * 50),
    ],
    ids=["png", "pdf", "zip", "jpeg", "elf", "nul", "control-heavy", "zlib"],
)
def test_binary_is_not_text(raw: bytes) -> None:
    assert rejected(raw).reason == "not_text"


def test_invalid_bytes_after_a_bom_are_undecodable() -> None:
    error = rejected(codecs.BOM_UTF8 + b"date 2020-01-01 \xff\xfe\xfa broken")
    assert error.reason == "undecodable"
    assert "UTF-8" in error.detail


def test_empty_bytes() -> None:
    assert rejected(b"").reason == "empty_file"
