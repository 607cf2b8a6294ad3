"""MinHash fingerprints and LSH band keys for near-duplicate detection.

A body is normalised once (``worker.dedupe.normalise``), split into words on
single spaces, and turned into the set of its word ``shingle_size``-shingles
(consecutive words joined by one space). A body with fewer words than the
shingle size is one shingle: its whole normalised text (so even an empty body
gets a usable fingerprint, and a short text still matches its exact copies).

The shingle set is sketched with rensa's ``RMinHash`` (``num_perm`` unsigned
32-bit slots; the same set always gives the same signature, whatever the order
or repetition of shingles). The signature is cut into ``bands`` bands of
``rows`` slots; each band gives one *band key*, a signed 64-bit integer that
fits a PostgreSQL ``bigint`` column with a btree index:

    band_key(i) = int64_le(blake2b(u16_le(i) || u32_le(slot) * rows, digest_size=8))

Two documents are LSH candidates when they share a band key; a candidate is a
near-duplicate when ``similarity`` (the fraction of equal slots, an estimate
of the Jaccard similarity of the shingle sets) is at least ``threshold``.

Signatures are only comparable when made with the same shingle size, number
of permutations, seed and rensa algorithm: keep ``MinHashParams.as_dict()``
next to stored signatures and rebuild them when it changes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import operator
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import version
from typing import Any, Final

import rensa

from worker.dedupe import normalise, sha256_of_normalised

__all__ = [
    "Fingerprint",
    "MinHashParams",
    "band_keys",
    "fingerprint",
    "fingerprint_normalised",
    "shingles",
    "signature_from_bytes",
    "signature_to_bytes",
    "similarity",
]

#: Bytes per signature slot: rensa's R-MinHash digests are unsigned 32-bit.
SLOT_BYTES: Final = 4
_SLOT_MAX: Final = 0xFFFFFFFF


@lru_cache(maxsize=1)
def _rensa_version() -> str:
    return version("rensa")


def _rensa_algorithm_version() -> int:
    return int(rensa.RMinHash.ALGORITHM_VERSION)


@dataclass(frozen=True, slots=True)
class MinHashParams:
    """Everything that determines a fingerprint, plus the decision threshold.

    The defaults are the project's: word 5-shingles, 128 slots in 32 bands of
    4 rows. With ``r = 4, b = 32`` the probability that a pair of Jaccard
    similarity ``s`` shares at least one band is ``1 - (1 - s**4)**32``:
    about 1 - 5e-8 at 0.8, 0.87 at 0.5, 0.23 at 0.3 and 0.003 at 0.1, so the
    index misses essentially no pair at the threshold and the few unrelated
    candidates are dropped by the similarity check.
    """

    shingle_size: int = 5
    num_perm: int = 128
    bands: int = 32
    rows: int = 4
    seed: int = 42
    threshold: float = 0.8
    library: str = "rensa"
    library_version: str = field(default_factory=_rensa_version)
    algorithm_version: int = field(default_factory=_rensa_algorithm_version)

    def __post_init__(self) -> None:
        if self.shingle_size < 1:
            raise ValueError(f"shingle_size must be at least 1, not {self.shingle_size}")
        if self.num_perm < 1 or self.bands < 1 or self.rows < 1:
            raise ValueError("num_perm, bands and rows must be positive")
        if self.bands * self.rows != self.num_perm:
            raise ValueError(
                f"bands * rows must equal num_perm: {self.bands} * {self.rows} != {self.num_perm}"
            )
        if self.bands > 0xFFFF:
            raise ValueError(f"at most 65535 bands, not {self.bands}")
        if not 0 <= self.seed <= 0xFFFFFFFFFFFFFFFF:
            raise ValueError(f"seed must be an unsigned 64-bit integer, not {self.seed}")
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], not {self.threshold}")

    def as_dict(self) -> dict[str, Any]:
        """A JSON-serialisable view, to store next to the signatures."""
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """The dedupe keys of one body.

    ``signature`` holds ``num_perm`` unsigned 32-bit values (store it with
    ``signature_to_bytes``); ``band_keys`` holds ``bands`` signed 64-bit
    integers, band ``i`` at index ``i``.
    """

    content_sha256: str
    signature: tuple[int, ...]
    band_keys: list[int]


def shingles(normalised: str, size: int) -> list[str]:
    """Word ``size``-shingles of an already normalised text (duplicates kept).

    The text must come from ``normalise``: words are separated by exactly one
    space. Fewer than ``size`` words give the whole text as the one shingle.
    """
    words = normalised.split(" ")
    if len(words) <= size:
        return [normalised]
    if size == 1:
        return words
    # map(' '.join, zip(...)) keeps the loop in C: this is the hot spot of the
    # whole dedupe step.
    return list(map(" ".join, zip(*[words[i:] for i in range(size)], strict=False)))


@lru_cache(maxsize=16)
def _band_prefixes(bands: int) -> tuple[bytes, ...]:
    return tuple(struct.pack("<H", i) for i in range(bands))


def band_keys(signature: Sequence[int], params: MinHashParams) -> list[int]:
    """The LSH band keys of a signature, as signed 64-bit integers."""
    if len(signature) != params.num_perm:
        raise ValueError(f"signature has {len(signature)} slots, expected {params.num_perm}")
    packed = signature_to_bytes(signature)
    width = params.rows * SLOT_BYTES
    blake2b = hashlib.blake2b
    from_bytes = int.from_bytes
    return [
        from_bytes(
            blake2b(prefix + packed[i * width : (i + 1) * width], digest_size=8).digest(),
            "little",
            signed=True,
        )
        for i, prefix in enumerate(_band_prefixes(params.bands))
    ]


def fingerprint_normalised(normalised: str, params: MinHashParams) -> Fingerprint:
    """Fingerprint a body that has already gone through ``normalise``."""
    sketch = rensa.RMinHash(params.num_perm, params.seed)
    sketch.update(shingles(normalised, params.shingle_size))
    signature = tuple(sketch.digest())
    return Fingerprint(
        content_sha256=sha256_of_normalised(normalised),
        signature=signature,
        band_keys=band_keys(signature, params),
    )


def fingerprint(body: str, params: MinHashParams) -> Fingerprint:
    """Normalise a body once and compute its content key, signature and band keys."""
    return fingerprint_normalised(normalise(body), params)


def similarity(sig_a: Sequence[int], sig_b: Sequence[int]) -> float:
    """Estimated Jaccard similarity: the fraction of equal signature slots."""
    if len(sig_a) != len(sig_b):
        raise ValueError(f"signatures differ in length: {len(sig_a)} and {len(sig_b)}")
    if not sig_a:
        raise ValueError("empty signatures")
    equal: int = sum(map(operator.eq, sig_a, sig_b))
    return equal / len(sig_a)


def signature_to_bytes(signature: Sequence[int]) -> bytes:
    """Pack a signature as little-endian unsigned 32-bit integers (for bytea)."""
    try:
        return struct.pack(f"<{len(signature)}I", *signature)
    except struct.error as exc:
        raise ValueError(f"signature slots must be in 0..{_SLOT_MAX}: {exc}") from exc


def signature_from_bytes(data: bytes | bytearray | memoryview) -> tuple[int, ...]:
    """Inverse of ``signature_to_bytes``."""
    size = len(data)
    if size == 0 or size % SLOT_BYTES:
        raise ValueError(f"a signature is a positive multiple of {SLOT_BYTES} bytes, not {size}")
    return struct.unpack(f"<{size // SLOT_BYTES}I", data)
