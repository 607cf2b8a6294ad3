"""64-bit hashes of words and word shingles, for a whole batch of texts in a few numpy passes.

Words and shingles never become Python objects: a batch's normalised texts
are joined into one byte buffer, every word is hashed to 64 bits
(``word_hashes``), and a shingle's hash mixes its words' hashes
(``shingle_hashes``). ``worker.dedupe.minhash`` sketches the result.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

_U64 = np.uint64
MIX = _U64(0x9E3779B97F4A7C15)
_M2 = _U64(0xBF58476D1CE4E5B9)
_M3 = _U64(0x94D049BB133111EB)


def finalise(h: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """splitmix64's finaliser: every output bit depends on every input bit."""
    h ^= h >> _U64(30)
    h *= _M2
    h ^= h >> _U64(27)
    h *= _M3
    h ^= h >> _U64(31)
    return h


#: Words longer than this many bytes are hashed with BLAKE2b (see word_hashes).
LONG_WORD: Final = 64

# Mask of the first k bytes of a little-endian 64-bit word, k = 0..8.
_MASKS = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [0xFFFFFFFFFFFFFFFF], dtype=np.uint64)


def _pack(
    windows: npt.NDArray[np.uint8], starts: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64]
) -> npt.NDArray[np.uint64]:
    """The next (up to) 8 bytes of each word as one little-endian integer, zero padded."""
    rows = np.ascontiguousarray(windows[starts])
    packed: npt.NDArray[np.uint64] = rows.view("<u8").ravel() & _MASKS[np.minimum(lengths, 8)]
    return packed


def word_hashes(normalised: Sequence[str]) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
    """64-bit hashes of every word of every text, flat, and each text's word offsets.

    The texts are joined by single spaces and hashed in a few vectorised passes:
    a word's first 8 bytes (zero padded: normalised text holds no NUL) go
    through splitmix64's finaliser, a bijection, so words of up to 8 bytes
    never collide; each further 8 bytes are mixed in, one pass per 8 bytes.
    Words longer than ``LONG_WORD`` bytes (rare in prose; a text without
    spaces is one) take BLAKE2b instead, one call each: passes per 8 bytes of
    the longest word would make a 4 MB word cost seconds.
    """
    counts = np.fromiter((t.count(" ") + 1 for t in normalised), np.int64, len(normalised))
    data = " ".join(normalised).encode("utf-8")
    size = len(data)
    buffer = np.frombuffer(data + b"\0" * 8, dtype=np.uint8)
    spaces = np.flatnonzero(buffer[:size] == 32)
    starts = np.empty(len(spaces) + 1, dtype=np.int64)
    starts[0], starts[1:] = 0, spaces + 1
    ends = np.empty_like(starts)
    ends[:-1], ends[-1] = spaces, size
    lengths = ends - starts
    windows = sliding_window_view(buffer, 8)
    hashes = finalise(_pack(windows, starts, lengths))
    chunk = 1
    longer = np.flatnonzero((lengths > 8) & (lengths <= LONG_WORD))
    while longer.size:
        mixed = hashes[longer] * MIX
        mixed ^= _pack(windows, starts[longer] + 8 * chunk, lengths[longer] - 8 * chunk)
        hashes[longer] = finalise(mixed)
        chunk += 1
        longer = longer[lengths[longer] > 8 * chunk]
    for i in np.flatnonzero(lengths > LONG_WORD).tolist():
        word = data[int(starts[i]) : int(ends[i])]
        hashes[i] = int.from_bytes(hashlib.blake2b(word, digest_size=8).digest(), "little")
    offsets = np.zeros(len(normalised) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return hashes, offsets


def shingle_hashes(
    words: npt.NDArray[np.uint64], offsets: npt.NDArray[np.int64], size: int
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    """Every text's word `size`-shingles (one shingle of all its words if it has fewer),
    hashed as ((w0 * MIX) ^ w1) * MIX ^ ... then finalised; flat, with row offsets."""
    counts = np.diff(offsets)
    per_text = np.maximum(counts - size + 1, 1)
    rows = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(per_text, out=rows[1:])
    out = np.empty(int(rows[-1]), dtype=np.uint64)
    whole = np.flatnonzero(counts >= size)
    if whole.size:
        span = len(words) - size + 1
        windows = words[:span].copy()
        for i in range(1, size):
            windows *= MIX
            windows ^= words[i : span + i]
        windows = finalise(windows)
        lengths = per_text[whole]
        step = np.arange(int(lengths.sum()), dtype=np.int64) - np.repeat(
            np.cumsum(lengths) - lengths, lengths
        )
        out[np.repeat(rows[whole], lengths) + step] = windows[
            np.repeat(offsets[whole], lengths) + step
        ]
    for text in np.flatnonzero(counts < size):
        hashed = words[offsets[text] : offsets[text + 1]][:1].copy()
        for word in words[offsets[text] + 1 : offsets[text + 1]]:
            hashed *= MIX
            hashed ^= word
        out[rows[text]] = finalise(hashed)[0]
    return out, rows.astype(np.uint64)
