"""The BBC corpus (../shared/corpora/bbc) rewritten into the reference dated format.

The corpus is title line, blank line, body, with no date. Each article becomes
`date YYYY-MM-DD` + newline + the original bytes, unchanged: the header is
ASCII, so a file that is not UTF-8 (sport/199.txt is Latin-1) stays exactly
as it was and the pipeline, not this helper, has to decode it. The date is
derived from the bytes, so byte-identical articles stay byte-identical.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

BBC = Path(__file__).resolve().parents[1].parent / "shared" / "corpora" / "bbc"
TOPICS = ("business", "entertainment", "politics", "sport", "tech")
FIRST_DAY = date(2004, 1, 1)
DAYS = 731  # the corpus covers 2004-2005


def bbc_articles(root: Path = BBC) -> dict[str, bytes]:
    """Relative name ("sport/199.txt") -> original bytes, for every article."""
    return {
        f"{topic}/{path.name}": path.read_bytes()
        for topic in TOPICS
        for path in sorted((root / topic).glob("*.txt"))
    }


def day_for(raw: bytes) -> date:
    digest = hashlib.sha256(raw).digest()
    return FIRST_DAY + timedelta(days=int.from_bytes(digest[:4], "big") % DAYS)


def dated(raw: bytes) -> bytes:
    """The reference format: an ASCII date header, then the article's own bytes."""
    return f"date {day_for(raw).isoformat()}\n".encode("ascii") + raw


def identical_groups(articles: dict[str, bytes]) -> list[list[str]]:
    """Names of byte-identical articles, for every group of two or more."""
    groups: defaultdict[bytes, list[str]] = defaultdict(list)
    for name, raw in articles.items():
        groups[hashlib.sha256(raw).digest()].append(name)
    return [sorted(names) for names in groups.values() if len(names) > 1]
