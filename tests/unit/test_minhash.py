"""Unit tests for worker.minhash: fingerprints, similarity, band keys, storage."""

from __future__ import annotations

import dataclasses
import re
from itertools import combinations
from pathlib import Path

import pytest

from worker.dedupe.hashing import LONG_WORD
from worker.dedupe.minhash import (
    Fingerprint,
    MinHashParams,
    band_keys,
    exact_similarity,
    fingerprint,
    shingles,
    signature_from_bytes,
    signature_to_bytes,
    similarity,
)
from worker.dedupe.normalise import content_sha256, normalise

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
PARAMS = MinHashParams()
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_DATE_HEADER = re.compile(r"\A\s*date \d{4}-\d{2}-\d{2}\s*")


def _sample_bodies() -> list[str]:
    paths = sorted(SAMPLES.glob("*.txt"))
    assert len(paths) == 3, f"expected the three reference samples in {SAMPLES}"
    # the parser strips the date header before dedupe sees the body
    return [_DATE_HEADER.sub("", p.read_text(encoding="utf-8")) for p in paths]


def _exact_jaccard(a: str, b: str) -> float:
    sa = set(shingles(normalise(a), PARAMS.shingle_size))
    sb = set(shingles(normalise(b), PARAMS.shingle_size))
    return len(sa & sb) / len(sa | sb)


def _sim(a: str, b: str) -> float:
    return similarity(fingerprint(a, PARAMS).signature, fingerprint(b, PARAMS).signature)


# --- parameters -------------------------------------------------------------------------


def test_default_params() -> None:
    d = PARAMS.as_dict()
    assert d["shingle_size"] == 5
    assert d["num_perm"] == 120
    assert d["bands"] * d["rows"] == d["num_perm"] == 120
    assert (d["bands"], d["rows"]) == (20, 6)
    assert d["seed"] == 42
    assert d["threshold"] == 0.8
    assert d["library"] == "rensa"
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", d["library_version"])
    assert isinstance(d["algorithm_version"], int)
    with pytest.raises(dataclasses.FrozenInstanceError):
        PARAMS.seed = 1  # type: ignore[misc]


def test_lsh_recall_at_threshold() -> None:
    # Probability that a pair at the threshold shares at least one band.
    s = PARAMS.threshold
    assert 1 - (1 - s**PARAMS.rows) ** PARAMS.bands > 0.997


@pytest.mark.parametrize(
    "kwargs",
    [
        {"bands": 16},  # 16 * 4 != 128
        {"num_perm": 0, "bands": 0, "rows": 0},
        {"shingle_size": 0},
        {"threshold": 0.0},
        {"threshold": 1.5},
        {"seed": -1},
    ],
)
def test_invalid_params(kwargs: dict[str, int | float]) -> None:
    with pytest.raises(ValueError):
        MinHashParams(**kwargs)  # type: ignore[arg-type]


# --- shingles ---------------------------------------------------------------------------


@pytest.mark.parametrize("length", [LONG_WORD - 1, LONG_WORD, LONG_WORD + 1, 4_000_000])
def test_words_of_any_length_are_told_apart_by_every_byte(length: int) -> None:
    # Words past LONG_WORD bytes are hashed another way (one call, not one pass
    # per 8 bytes): they must still be words, equal only when every byte is.
    head, tail = "the harbour board met on monday", "to settle the ferry timetable"
    text_a = f"{head} {'a' * length} {tail}"
    text_b = f"{head} {'a' * (length - 1)}b {tail}"
    assert fingerprint(text_a, PARAMS).signature == fingerprint(text_a, PARAMS).signature
    assert exact_similarity(text_a, text_a, PARAMS) == 1.0
    # 12 words, 8 5-shingles each; the long word sits in 5: 3 shared of 13.
    assert exact_similarity(text_a, text_b, PARAMS) == pytest.approx(3 / 13)
    assert (
        similarity(fingerprint(text_a, PARAMS).signature, fingerprint(text_b, PARAMS).signature)
        < 0.8
    )


def test_shingles() -> None:
    assert shingles("a b c d e f g", 5) == ["a b c d e", "b c d e f", "c d e f g"]
    assert shingles("a b c d e", 5) == ["a b c d e"]
    assert shingles("a b", 5) == ["a b"]  # short text: the whole text is one shingle
    assert shingles("", 5) == [""]
    assert shingles("a b c", 1) == ["a", "b", "c"]


# --- fingerprints -----------------------------------------------------------------------


def test_fingerprint_shape_and_determinism() -> None:
    body = _sample_bodies()[0]
    fp = fingerprint(body, PARAMS)
    assert isinstance(fp, Fingerprint)
    assert fp.content_sha256 == content_sha256(body)
    assert len(fp.signature) == PARAMS.num_perm
    assert all(0 <= v <= 0xFFFFFFFF for v in fp.signature)
    assert len(fp.band_keys) == PARAMS.bands
    assert all(isinstance(k, int) and INT64_MIN <= k <= INT64_MAX for k in fp.band_keys)
    assert len(set(fp.band_keys)) == PARAMS.bands
    assert fp == fingerprint(body, PARAMS)
    assert fp.band_keys == band_keys(fp.signature, PARAMS)


def test_fingerprint_is_stable_across_releases() -> None:
    # Stored signatures and band keys must stay comparable: if this changes, the
    # algorithm changed (rensa upgrade, shingling, band key scheme) and stored
    # fingerprints must be rebuilt. Update the expected values deliberately.
    fp = fingerprint("The quick brown fox jumps over the lazy dog again", PARAMS)
    assert fp.signature[:4] == (1213402275, 3268045110, 3247768927, 3392428164)
    assert fp.band_keys[:2] == [510274858729611445, -4252685392217119529]


def test_seed_changes_signature() -> None:
    body = _sample_bodies()[0]
    other = dataclasses.replace(PARAMS, seed=7)
    assert fingerprint(body, PARAMS).signature != fingerprint(body, other).signature


def test_normalisation_variants_get_identical_fingerprints() -> None:
    body = _sample_bodies()[0]
    variant = "\ufeff" + body.replace("\n", "\r\n").replace("\u201c", '"').replace("\u201d", '"')
    variant = variant.replace("\u2019", "'").replace("\u2014", "--").upper()
    a, b = fingerprint(body, PARAMS), fingerprint(variant, PARAMS)
    # '--' is not '-': a different content key, but a near-duplicate
    assert a.content_sha256 != b.content_sha256
    assert similarity(a.signature, b.signature) >= PARAMS.threshold
    plain = variant.replace("--", "-")
    assert fingerprint(plain, PARAMS) == a


def test_near_copies_are_similar() -> None:
    body = _sample_bodies()[0]
    paragraphs = body.split("\n\n")
    sentences = re.split(r"(?<=[.!?])\s+|(?<=[.!?]\u201d)\s+", body)
    assert len(sentences) > 10
    dropped = 3  # "Chrissy sharing what she shared ...", 25 words
    variants = {
        "retitled": "Legend thanks fans for support after loss\n\n" + body,
        "byline": "By Jane Smith, Entertainment Reporter\n\n" + body + "\n\nReporting by J. Smith",
        "sentence dropped": " ".join(sentences[:dropped] + sentences[dropped + 1 :]),
        "paragraph dropped": "\n\n".join(paragraphs[:2] + paragraphs[3:]),
        "trailing caption": body + "\n\nPhoto: Instagram/@chrissyteigen\n\n\n",
    }
    for name, variant in variants.items():
        assert variant != body, name
        assert _exact_jaccard(body, variant) >= PARAMS.threshold, name
        assert _sim(body, variant) >= PARAMS.threshold, name
        assert set(fingerprint(body, PARAMS).band_keys) & set(
            fingerprint(variant, PARAMS).band_keys
        ), name


def test_samples_are_different_articles() -> None:
    bodies = _sample_bodies()
    fps = [fingerprint(b, PARAMS) for b in bodies]
    assert len({fp.content_sha256 for fp in fps}) == 3
    for a, b in combinations(range(3), 2):
        assert similarity(fps[a].signature, fps[b].signature) < PARAMS.threshold
        assert _exact_jaccard(bodies[a], bodies[b]) < PARAMS.threshold


def test_identical_bodies_have_similarity_one() -> None:
    body = _sample_bodies()[1]
    assert _sim(body, body + "\n") == 1.0


# --- short texts ------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["", "   ", "Hi", "Two words", "Exactly five words right here"])
def test_short_text_gets_a_usable_fingerprint(body: str) -> None:
    fp = fingerprint(body, PARAMS)
    assert len(fp.signature) == PARAMS.num_perm
    assert len(fp.band_keys) == PARAMS.bands
    # not the empty-sketch sentinel (every slot at the maximum)
    assert set(fp.signature) != {0xFFFFFFFF}
    assert fingerprint(body.upper() + "\n", PARAMS) == fp


def test_short_texts_match_only_their_copies() -> None:
    assert _sim("Goal!", " goal! ") == 1.0
    assert _sim("Goal!", "Goal") < PARAMS.threshold
    assert _sim("Match postponed", "Match abandoned") < PARAMS.threshold


# --- similarity and storage -------------------------------------------------------------


def test_similarity() -> None:
    assert similarity((1, 2, 3, 4), (1, 2, 3, 4)) == 1.0
    assert similarity((1, 2, 3, 4), (1, 0, 3, 0)) == 0.5
    assert similarity((1, 2), (3, 4)) == 0.0
    with pytest.raises(ValueError):
        similarity((1, 2), (1, 2, 3))
    with pytest.raises(ValueError):
        similarity((), ())


def test_signature_bytes_round_trip() -> None:
    sig = fingerprint(_sample_bodies()[2], PARAMS).signature
    data = signature_to_bytes(sig)
    assert isinstance(data, bytes)
    assert len(data) == 4 * PARAMS.num_perm
    assert signature_from_bytes(data) == sig
    assert signature_from_bytes(memoryview(data)) == sig
    assert signature_from_bytes(bytearray(data)) == sig
    edge = (0, 1, 0xFFFFFFFF, 0x12345678)
    assert signature_to_bytes(edge)[8:12] == b"\xff\xff\xff\xff"
    assert signature_to_bytes(edge)[12:] == b"\x78\x56\x34\x12"  # little-endian
    assert signature_from_bytes(signature_to_bytes(edge)) == edge


@pytest.mark.parametrize("data", [b"", b"\x00\x01\x02", b"\x00" * 5])
def test_signature_from_bad_bytes(data: bytes) -> None:
    with pytest.raises(ValueError):
        signature_from_bytes(data)


def test_signature_to_bytes_rejects_out_of_range() -> None:
    with pytest.raises(ValueError):
        signature_to_bytes((1 << 32,))
    with pytest.raises(ValueError):
        signature_to_bytes((-1,))


def test_band_keys_reject_wrong_length() -> None:
    with pytest.raises(ValueError):
        band_keys((1, 2, 3), PARAMS)


def test_band_keys_depend_on_band_index() -> None:
    # Equal values in different bands must not give equal keys.
    sig = (7,) * PARAMS.num_perm
    keys = band_keys(sig, PARAMS)
    assert len(set(keys)) == PARAMS.bands


def test_batch_fingerprints_equal_single_ones() -> None:
    from worker.dedupe.minhash import fingerprints
    from worker.dedupe.normalise import normalise

    texts = [normalise(b) for b in _sample_bodies()] + ["", "one", "two words", "a b c d e"]
    assert fingerprints(texts, PARAMS) == [fingerprint(t, PARAMS) for t in texts]


def test_words_hash_alike_wherever_they_stand() -> None:
    # The batch hashes words in one buffer: a text's fingerprint must not depend on
    # its neighbours, and long words (more than 8 bytes) must hash by every byte.
    from worker.dedupe.minhash import fingerprints

    texts = [
        "incomprehensibilities abound in extraordinarily long words",
        "incomprehensibilitiez abound in extraordinarily long words",
        "",
        "é日本 non-ascii words too",
    ]
    alone = [fingerprints([t], PARAMS)[0] for t in texts]
    assert fingerprints(texts, PARAMS) == alone
    assert fingerprints(list(reversed(texts)), PARAMS) == list(reversed(alone))
    assert alone[0].signature != alone[1].signature  # the last byte of a 21-byte word counts
