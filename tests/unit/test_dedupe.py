"""Unit tests for worker.dedupe: normalisation and the exact content key."""

from __future__ import annotations

import pytest

from worker.dedupe.normalise import content_sha256, normalise, sha256_of_normalised

BODY = (
    "Chrissy Teigen and John Legend appreciate the \u201clove and support\u201d "
    "they\u2019ve received.\n\nLegend and Teigen \u2014 who have been married since "
    "2013 \u2014 have tried\u2026\n"
)
PLAIN = (
    'chrissy teigen and john legend appreciate the "love and support" '
    "they've received. legend and teigen - who have been married since "
    "2013 - have tried..."
)


def test_reference_body() -> None:
    assert normalise(BODY) == PLAIN


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        ("a\r\nb\rc\nd", "a b c d"),  # Windows, old Mac and Unix line endings
        ("\ufeffhello", "hello"),  # byte order mark
        ("hel\ufefflo", "hello"),  # a BOM in the middle of a concatenated file
        ("soft\u00adhyphen zero\u200bwidth word\u2060joiner", "softhyphen zerowidth wordjoiner"),
        ("  a \t b\n\n\n c  \n", "a b c"),  # runs of white space, both ends
        ("a\u00a0b\u2009c\u3000d\u2028e\u2029f\x85g\vh\fi", "a b c d e f g h i"),  # Unicode spaces
        ("\u2018a\u2019 \u201ab\u201b \u2032c", "'a' 'b' 'c"),  # single quotes, prime
        ("\u201ca\u201d \u201eb\u201f \u2033c \u00abd\u00bb", '"a" "b" "c "d"'),  # doubles
        ("\u2039a\u203a", "'a'"),  # single guillemets
        ("a\u2013b\u2014c\u2012d\u2015e\u2212f\u2010g\u2011h", "a-b-c-d-e-f-g-h"),  # dashes
        ("wait\u2026", "wait..."),  # ellipsis
        ("\ufb01ne \uff21\uff22\uff23 \u2460 x\u00b2", "fine abc 1 x2"),  # NFKC forms
        ("caf\u0065\u0301 caf\u00e9", "caf\u00e9 caf\u00e9"),  # composed and decomposed
        ("\ufe58 \uff02", '- "'),  # compatibility forms that NFKC maps to a dash/quote
        ("HeLLo WORLD", "hello world"),  # case
        ("Stra\u00dfe STRASSE", "strasse strasse"),  # full case folding
        (
            "\u03a3\u0399\u03a3\u03a5\u03a6\u039f\u03a3 \u03c3\u03b9\u03c3\u03c5\u03c6\u03bf\u03c2",
            "\u03c3\u03b9\u03c3\u03c5\u03c6\u03bf\u03c3 \u03c3\u03b9\u03c3\u03c5\u03c6\u03bf\u03c3",
        ),
        ("", ""),
        (" \n\t ", ""),
    ],
)
def test_normalise_cases(variant: str, expected: str) -> None:
    assert normalise(variant) == expected


@pytest.mark.parametrize(
    "text",
    [
        BODY,
        "\u2033 \u2034 \u2057 \ufe58 \u1e9e \u0130 \u0149 \ufb00 \u01c4 \u1f88 \u0345",
        "A\u030a \u212b \u00c5 \u2126",
        "plain ascii text, nothing to do",
    ],
)
def test_normalise_is_idempotent(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once


def test_variants_share_the_content_key() -> None:
    variants = [
        BODY,
        BODY.replace("\n", "\r\n"),  # Windows line endings
        "\ufeff" + BODY,  # BOM
        "   " + BODY.replace(" ", "  ").replace("\n\n", "\n \n\n\n") + "\n\n\n",  # spacing
        BODY.replace("\u201c", '"').replace("\u201d", '"').replace("\u2019", "'"),  # quotes
        BODY.replace("\u2014", "-").replace("\u2026", "..."),  # dashes, ellipsis
        BODY.replace("\u201c", "\u00ab").replace("\u201d", "\u00bb"),  # guillemets
        BODY.upper(),  # case
        PLAIN,
    ]
    keys = {content_sha256(v) for v in variants}
    assert len(keys) == 1


def test_different_text_different_key() -> None:
    assert content_sha256(BODY) != content_sha256(BODY.replace("2013", "2012"))
    assert content_sha256("a b") != content_sha256("ab")  # white space between words counts


def test_content_key_format() -> None:
    key = content_sha256(BODY)
    assert len(key) == 64
    assert key == key.lower()
    int(key, 16)
    assert key == sha256_of_normalised(normalise(BODY))
    # the SHA-256 of the empty string: an empty body still has a key
    assert content_sha256(" \n ") == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


def test_ascii_fast_path_equals_splitting_on_white_space() -> None:
    # normalise() collapses white space of ASCII text in a byte array: it must agree
    # with str.split() exactly, controls it counts as white space included.
    import random
    import string

    rng = random.Random(7)
    spaces = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"
    for size in (0, 1, 5, 255, 256, 257, 400, 3000):
        for _ in range(50):
            text = "".join(
                rng.choice(string.ascii_letters + string.digits + spaces + ".,'-")
                for _ in range(size)
            )
            assert normalise(text) == " ".join(text.casefold().split())
