"""Normalisation and the exact content key.

Two bodies that normalise to the same text are the same document: the content
key (``documents.content_sha256``) is the SHA-256 of the normalised body. The
normalisation removes what a copy picks up on its way through editors, mail
and operating systems without changing what the article says:

- a byte order mark and other invisible characters (zero-width space, word
  joiner, soft hyphen) are dropped;
- typographic quotes, primes, guillemets and dashes become their plain ASCII
  forms (``'``, ``"`` and ``-``), the ellipsis becomes ``...``;
- Unicode compatibility forms are folded (NFKC: ligatures, full-width forms,
  no-break spaces), then the case (``str.casefold``);
- every run of white space (line endings of any platform, tabs, blank lines,
  Unicode spaces) becomes one space, with none at either end.

The date header is not part of the body: the parser strips it before this
module sees the text. The MinHash fingerprint (``worker.minhash``) shingles
the same normalised text, so the exact and the near-duplicate checks agree on
what counts as a difference.
"""

from __future__ import annotations

import hashlib
import unicodedata
from typing import Final

import numpy as np

__all__ = ["content_sha256", "normalise", "sha256_of_normalised"]

# Characters mapped before and after NFKC. Before, because NFKC turns some of
# them into something else (the double prime becomes two primes); after,
# because NFKC produces some of them from compatibility forms (the small em
# dash U+FE58 becomes an em dash).
_REPLACEMENTS: Final[tuple[tuple[str, str], ...]] = (
    # invisible characters
    ("\ufeff", ""),  # byte order mark / zero width no-break space
    ("\u200b", ""),  # zero width space
    ("\u2060", ""),  # word joiner
    ("\u00ad", ""),  # soft hyphen
    # single quotes, apostrophes and primes
    ("\u2018", "'"),  # left single quotation mark
    ("\u2019", "'"),  # right single quotation mark
    ("\u201a", "'"),  # single low-9 quotation mark
    ("\u201b", "'"),  # single high-reversed-9 quotation mark
    ("\u2032", "'"),  # prime
    ("\u2039", "'"),  # single left-pointing angle quotation mark
    ("\u203a", "'"),  # single right-pointing angle quotation mark
    # double quotes, double primes and guillemets
    ("\u201c", '"'),  # left double quotation mark
    ("\u201d", '"'),  # right double quotation mark
    ("\u201e", '"'),  # double low-9 quotation mark
    ("\u201f", '"'),  # double high-reversed-9 quotation mark
    ("\u2033", '"'),  # double prime
    ("\u00ab", '"'),  # left-pointing double angle quotation mark
    ("\u00bb", '"'),  # right-pointing double angle quotation mark
    # dashes, hyphens and the minus sign
    ("\u2010", "-"),  # hyphen
    ("\u2011", "-"),  # non-breaking hyphen
    ("\u2012", "-"),  # figure dash
    ("\u2013", "-"),  # en dash
    ("\u2014", "-"),  # em dash
    ("\u2015", "-"),  # horizontal bar
    ("\u2212", "-"),  # minus sign
    # ellipsis (NFKC does this one too)
    ("\u2026", "..."),
)


def _replace_typographic(text: str) -> str:
    # A chain of ``in`` / ``replace`` is several times faster than
    # ``str.translate`` with a dict on non-ASCII text, and costs almost
    # nothing for characters that do not occur.
    for char, plain in _REPLACEMENTS:
        if char in text:
            text = text.replace(char, plain)
    return text


# str.split()'s white space among ASCII characters, each made a space.
_ASCII_SPACE = bytes.maketrans(b"\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f", b" " * 9)
_SHORT = 256  # below this, str.split costs less than the array set-up


def _collapse_ascii(body: str) -> str:
    """``" ".join(body.lower().split())`` for ASCII text, without a string per word.

    Splitting a 3 KB article makes some 600 string objects; a byte array does
    the same in a few passes (about a third of the time).
    """
    if len(body) < _SHORT:
        return " ".join(body.lower().split())
    data = np.frombuffer(body.lower().encode("ascii").translate(_ASCII_SPACE), dtype=np.uint8)
    space = data == 32
    keep = ~space
    keep[1:] |= space[1:] & ~space[:-1]  # the first space of each run
    collapsed: bytes = data[keep].tobytes()
    return collapsed.strip(b" ").decode("ascii")


def normalise(body: str) -> str:
    """Return the canonical form of an article body (see the module docstring).

    Idempotent: ``normalise(normalise(x)) == normalise(x)``.
    """
    if body.isascii():
        # Nothing to map or fold but the case and the white space.
        return _collapse_ascii(body)
    text = _replace_typographic(body)
    text = unicodedata.normalize("NFKC", text)
    # casefold can leave text that is not NFKC (for example a combining mark
    # after a folded letter), so normalise again; both passes are cheap when
    # there is nothing to do.
    text = unicodedata.normalize("NFKC", text.casefold())
    text = _replace_typographic(text)
    return " ".join(text.split())


def sha256_of_normalised(normalised: str) -> str:
    """Hex SHA-256 of an already normalised body encoded as UTF-8."""
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def content_sha256(body: str) -> str:
    """The exact content key: hex SHA-256 of ``normalise(body)`` as UTF-8."""
    return sha256_of_normalised(normalise(body))
