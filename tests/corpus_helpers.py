"""Corpora for the whole-stack tests, rewritten into the reference dated format.

The generated corpus (``benchmarks.generated``) is always there: articles with
exact copies, near copies at known Jaccard, partial copies, rewrites and a few
Latin-1 files, with the ground truth. The BBC news corpus is an optional
real-world input: where it has been unpacked (``$INGEST_BBC_ROOT``, else
``../shared/corpora/bbc`` next to the checkout) its case is collected too;
where it is not, nothing is skipped, the case simply does not exist.

Both are laid out as ``topic/NNN.txt``: title line, blank line, body, with no
date. Each article becomes `date YYYY-MM-DD` + newline + the original bytes,
unchanged: the header is ASCII, so a file that is not UTF-8 (Latin-1) stays
exactly as it was and the pipeline, not this helper, has to decode it. The
date is derived from the bytes, so byte-identical articles stay byte-identical.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from benchmarks.corpus import default_bbc_root
from benchmarks.corpus import from_files as articles_of
from benchmarks.dedupe_quality import exact_jaccard_pairs
from benchmarks.generated import generate
from worker.dedupe.minhash import shingles
from worker.dedupe.normalise import normalise

BBC = default_bbc_root()
TOPICS = ("business", "entertainment", "politics", "sport", "tech")
FIRST_DAY = date(2004, 1, 1)
DAYS = 731  # the BBC corpus covers 2004-2005
MUST_LINK = 0.9  # near copies at least this similar must be linked (MinHash error ~0.03)
LINK_FLOOR = 0.5  # a linked document and its root are at least this similar

# An article in the BBC corpus's layout, saved as Latin-1: the `£` is one byte, 0xA3.
LATIN1_TITLE = "United sack Mills"
LATIN1_ARTICLE = (
    f"{LATIN1_TITLE}\n\n"
    "United have sacked striker Tom Mills after he failed a drugs test.\n\n"
    "The 25-year-old, a £15.8m signing from Parma last season, tested positive for a banned "
    "substance in October and may face a long suspension. The club said it had written off a "
    "possible transfer fee of £9m because its players must set an example to young fans. "
    "Mills scored six goals in his first five games but his form went into decline.\n"
).encode("latin-1")


def bbc_present() -> bool:
    return any(BBC.glob("*/*.txt"))


def corpus_labels() -> list[str]:
    """The corpora to run on: always "generated", and "bbc" where the BBC corpus is."""
    return ["generated", "bbc"] if bbc_present() else ["generated"]


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


@dataclass(frozen=True)
class Case:
    """A corpus and what the stack must make of it."""

    label: str
    files: dict[str, bytes]
    exact_groups: list[list[str]]  # each must become one stored file + duplicates of it
    similarity: dict[tuple[str, str], float]  # (a, b), a < b -> exact Jaccard, related pairs
    latin1: tuple[str, ...]  # files that are not UTF-8 and must decode cleanly
    expected_files: int
    must_not_link: list[tuple[str, str]]  # related, but not near-duplicates (partial, rewrite)

    def must_link(self) -> list[tuple[str, str]]:
        """Pairs of different documents similar enough that a miss is a defect."""
        return sorted(pair for pair, j in self.similarity.items() if MUST_LINK <= j < 1.0)


def generated_case(count: int = 2000) -> Case:
    corpus = generate(count)
    return Case(
        "generated",
        corpus.files,
        corpus.exact_groups(),
        {pair: rel.jaccard for pair, rel in corpus.pairs.items()},
        corpus.latin1,
        count,
        sorted([*corpus.of_kind("partial"), *corpus.of_kind("rewrite")]),
    )


def bbc_case(root: Path = BBC) -> Case:
    """The BBC corpus; its truth is brute force: exact Jaccard of every pair from 0.3."""
    files = bbc_articles(root)
    articles = articles_of(files)
    sets = [frozenset(shingles(normalise(a.text), 5)) for a in articles]
    similarity = {
        (articles[a].name, articles[b].name): j
        for (a, b), j in exact_jaccard_pairs(sets).items()
        if j >= 0.3
    }
    latin1 = tuple(a.name for a in articles if a.encoding == "latin-1")
    # Chains (a~b, b~c) may join pairs below the threshold: no pair is sure to stay apart.
    return Case("bbc", files, identical_groups(files), similarity, latin1, 2225, [])


def case(label: str) -> Case:
    return generated_case() if label == "generated" else bbc_case()
