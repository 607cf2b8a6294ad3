"""Bytes -> clean text: pick the encoding, refuse binary, normalise to NFC.

The common case (UTF-8) costs one `bytes.decode` and two cheap scans; charset
detection runs only when UTF-8 fails, so the reference path stays fast.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

from charset_normalizer import CharsetMatch, from_bytes

from worker.errors import Rejected

# Magic numbers of common binary formats that can pass for text at a glance
# (PDF's header is plain ASCII, for one).
_BINARY_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"PK\x05\x06", "an empty ZIP archive"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\x7fELF", "an executable"),
    (b"MZ\x90\x00", "a Windows executable"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Office document"),
    (b"SQLite format 3\x00", "an SQLite database"),
)

# BOMs, longest first: the UTF-32 LE BOM starts with the UTF-16 LE one.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# Legacy encodings tried when UTF-8 fails, in order of preference: when
# several decode a file equally well (one `£` fits cp1252 and cp1250 alike),
# the most widespread one wins.
_LEGACY = (
    "cp1252",
    "latin_1",
    "iso8859_15",
    "cp1250",
    "iso8859_2",
    "cp1251",
    "koi8_r",
    "iso8859_5",
    "cp1253",
    "iso8859_7",
    "cp1254",
    "cp1257",
    "cp1255",
    "cp1256",
    "mac_roman",
    "cp437",
    "cp850",
)
_CLEAN_ENOUGH = 0.1  # charset-normalizer "chaos" under which we trust a legacy guess

_SAMPLE = 8192  # bytes inspected by the binary heuristics
_MAX_CONTROL_RATIO = 0.05  # random bytes have about 11%
# C0 controls other than \t \n \v \f \r, DEL and C1 controls.
_CONTROL_BYTES = bytes([*range(0x00, 0x09), *range(0x0E, 0x20), 0x7F])
# Deleting every other byte leaves the control bytes: counting them stays in C.
_NOT_CONTROL = bytes(byte for byte in range(256) if byte not in _CONTROL_BYTES)
_CONTROL_CHARS = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]")
# Vertical tab and form feed separate lines or pages: keep a break, not the char.
_LINE_CONTROLS = str.maketrans({"\x0b": "\n", "\x0c": "\n"})


def decode(raw: bytes) -> str:
    """Decode one file's bytes to NFC text without control characters.

    Raises `Rejected` with `empty_file`, `not_text` or `undecodable`.
    """
    if not raw:
        raise Rejected("empty_file", "The file is empty (0 bytes); drop it again once written.")
    _refuse_binary_magic(raw)
    text = _decode_by_bom(raw)
    if text is None and b"\x00" in raw:
        text = _decode_utf16_without_bom(raw)
        if text is None:
            raise Rejected(
                "not_text",
                "The file contains NUL bytes, so it is binary (or UTF-16 without a BOM); "
                "save it as UTF-8 text.",
            )
    if text is None:
        _refuse_control_heavy(raw)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = _decode_legacy(raw)
    # A second BOM (or one that survived a legacy decode) is never content.
    return _clean_checked(text.removeprefix("\ufeff"))


def _clean_checked(text: str) -> str:
    # Counting what we remove catches binary that slipped past the byte checks
    # (random data after a UTF-16 BOM decodes to "text" full of controls).
    text, removed = _CONTROL_CHARS.subn("", _page_breaks(text))
    if removed > _MAX_CONTROL_RATIO * len(text) + 3:
        raise Rejected(
            "not_text",
            f"The decoded text holds {removed} control characters, so the file is binary; "
            "drop text files only.",
        )
    return _normalise(text)


def _page_breaks(text: str) -> str:
    if "\x0b" in text or "\x0c" in text:
        return text.translate(_LINE_CONTROLS)
    return text


def _normalise(text: str) -> str:
    if text.isascii() or unicodedata.is_normalized("NFC", text):
        return text
    return unicodedata.normalize("NFC", text)


def _refuse_binary_magic(raw: bytes) -> None:
    for magic, what in _BINARY_MAGIC:
        if raw.startswith(magic):
            raise Rejected("not_text", f"The file is {what}, not text; drop text files only.")


def _decode_by_bom(raw: bytes) -> str | None:
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            try:
                return raw[len(bom) :].decode(encoding)
            except UnicodeDecodeError as exc:
                raise Rejected(
                    "undecodable",
                    f"The file starts with a {encoding.upper()} byte order mark but is not "
                    f"valid {encoding.upper()} at byte {exc.start + len(bom)}; "
                    "save it again as UTF-8.",
                ) from exc
    return None


def _decode_utf16_without_bom(raw: bytes) -> str | None:
    """UTF-16 text of Latin script has a NUL in every other byte; spot that pattern."""
    sample = raw[:_SAMPLE]
    if len(sample) < 4 or len(sample) % 2:
        return None
    even_nuls = sample[0::2].count(0)
    odd_nuls = sample[1::2].count(0)
    half = len(sample) // 2
    if odd_nuls > 0.6 * half and even_nuls == 0:
        encoding = "utf-16-le"
    elif even_nuls > 0.6 * half and odd_nuls == 0:
        encoding = "utf-16-be"
    else:
        return None
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        return None


def _refuse_control_heavy(raw: bytes) -> None:
    sample = raw[:_SAMPLE]
    controls = len(sample.translate(None, _NOT_CONTROL))
    if controls > _MAX_CONTROL_RATIO * len(sample) + 3:  # a few strays in short text
        raise Rejected(
            "not_text",
            f"{controls} of the first {len(sample)} bytes are control characters, "
            "so the file is binary; drop text files only.",
        )


def _decode_legacy(raw: bytes) -> str:
    """Not UTF-8: ask charset-normalizer, single-byte encodings first."""
    candidates: list[CharsetMatch] = []
    matches = list(from_bytes(raw, cp_isolation=list(_LEGACY)))
    if matches:
        least_chaos = min(match.chaos for match in matches)
        plausible = [match for match in matches if match.chaos <= least_chaos + 0.01]
        # charset-normalizer's own ranking picked cp1250 for a BBC article with
        # one `£`; coherence (language fit) then our preference order is right.
        best = max(
            plausible,
            key=lambda match: (round(match.coherence, 2), -_preference(match.encoding)),
        )
        if best.chaos < _CLEAN_ENOUGH:
            return str(best)
        candidates.append(best)
    # Messy as single-byte text: perhaps a multi-byte one (Shift_JIS, GB18030...).
    anything = from_bytes(raw).best()
    if anything is not None:
        candidates.append(anything)
    if not candidates:
        raise Rejected(
            "undecodable",
            "The file is not valid UTF-8 and no other encoding decodes it cleanly; "
            "save it as UTF-8 and drop it again.",
        )
    return str(min(candidates, key=lambda match: match.chaos))


def _preference(encoding: str) -> int:
    return _LEGACY.index(encoding) if encoding in _LEGACY else len(_LEGACY)
