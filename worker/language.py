"""Language of a text as an ISO 639-1 code, via py3langid.

The model (about 0.7 s to load) is loaded once per process, on first use,
so importing this module stays cheap and forked workers that never detect
pay nothing. Only the start of the text is classified: a few hundred
characters identify the language of news prose, and the cost is linear.
"""

from __future__ import annotations

import functools
import re
from typing import Any

SAMPLE_CHARS = 500
MIN_LETTERS = 20  # below this, a guess is noise ("hello" comes out as Breton)
MIN_CONFIDENCE = 0.5

_NOT_LETTERS = re.compile(r"[\W\d_]+")


@functools.cache
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    # Normalised probabilities give a confidence we can threshold on.
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect(text: str) -> str | None:
    """The ISO 639-1 code of `text`, or None when it is too short or unclear to tell."""
    sample = text[:SAMPLE_CHARS]
    if len(_NOT_LETTERS.sub("", sample)) < MIN_LETTERS:
        return None
    code, confidence = _identifier().classify(sample)
    # The model also knows 3-letter codes (and `zxx`, no language); we store 639-1 only.
    if len(code) != 2 or confidence < MIN_CONFIDENCE:
        return None
    return str(code)
