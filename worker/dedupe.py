"""Normalisation and the exact content key.

Two files whose bodies normalise to the same text are the same document.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

_SPACE = re.compile(r"\s+")


def normalise(body: str) -> str:
    text = unicodedata.normalize("NFKC", body).casefold()
    return _SPACE.sub(" ", text).strip()


def content_sha256(body: str) -> str:
    return hashlib.sha256(normalise(body).encode("utf-8")).hexdigest()
