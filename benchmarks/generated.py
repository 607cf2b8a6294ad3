"""A generated news corpus with known duplicates: the default input of tests and benchmarks.

Nothing is downloaded and nothing is read from outside the repository: the
articles are English prose built from sentence templates and the vocabulary
of ``benchmarks.vocabulary``, seeded, so the same call gives the same bytes on every machine. Files
are laid out like the BBC corpus (``topic/NNN.txt``: a title line, a blank
line, paragraphs separated by blank lines) so that either can be used where a
corpus is needed. Besides unrelated articles it holds, with their ground truth:

- exact copies: byte-identical, or differing only in letter case, white space,
  CRLF line endings or typographic quotes (only normalisation makes them equal);
- near copies (words swapped for synonyms, a sentence dropped, added or replaced,
  "UPDATED:" before the title) at a Jaccard similarity of word 5-shingles
  between about 0.83 and 0.96;
- partial copies (half the sentences rewritten) at about 0.5: not near-duplicates;
- rewrites: the same story (people, places, organisations) in other sentences;
- a few Latin-1 files (with ``£``), which the pipeline must decode.

Jaccard similarities are measured exactly as the pipeline shingles a document
body (``title + "\\n\\n" + body``, normalised, word 5-shingles).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from benchmarks.vocabulary import QUOTES, SENTENCES, SYNONYMS, TITLES, TOPIC_WORDS, WORDS
from worker.dedupe.minhash import shingles
from worker.dedupe.normalise import normalise

__all__ = ["Corpus", "Related", "generate", "jaccard"]

TOPICS = ("business", "entertainment", "politics", "sport", "tech")
SHINGLE = 5
NEAR = (0.86, 0.97)  # target band of near copies (the last edit may undershoot a little)
PARTIAL = (0.45, 0.55)

_SLOT = re.compile(r"\{(\w+)\}|\[([^\[\]]+)\]")
_A_VOWEL = re.compile(r"\b([Aa]) (?=[aeiou])")  # "a ambitious" -> "an ambitious"


@dataclass(frozen=True, slots=True)
class Related:
    """A pair of articles the generator made related on purpose, and how much."""

    kind: str  # "exact", "near", "partial" or "rewrite"
    jaccard: float  # exact Jaccard of the word 5-shingle sets of the two document bodies


@dataclass(frozen=True)
class Corpus:
    files: dict[str, bytes]  # "topic/NNN.txt" -> bytes (UTF-8, a few Latin-1)
    pairs: dict[tuple[str, str], Related]  # (a, b) with a < b; every other pair is unrelated
    latin1: tuple[str, ...] = ()
    kinds: dict[str, str] = field(default_factory=dict)  # name -> how it was made

    def exact_groups(self) -> list[list[str]]:
        """Names of articles that are one document once normalised, two or more each."""
        groups: dict[str, set[str]] = {}
        for (a, b), rel in self.pairs.items():
            if rel.kind == "exact":
                group = groups.get(a) or groups.get(b) or set()
                group |= {a, b}
                groups[a] = groups[b] = group
        unique = {id(g): g for g in groups.values()}
        return sorted(sorted(g) for g in unique.values())

    def of_kind(self, kind: str) -> dict[tuple[str, str], float]:
        """Pair -> exact Jaccard, for the pairs made as ``kind``."""
        return {pair: rel.jaccard for pair, rel in self.pairs.items() if rel.kind == kind}

    def similar(self, threshold: float) -> dict[tuple[str, str], float]:
        """Every pair at or above ``threshold``: the truth near-duplicate detection is scored on."""
        return {pair: rel.jaccard for pair, rel in self.pairs.items() if rel.jaccard >= threshold}


def jaccard(a: str, b: str) -> float:
    """Exact Jaccard of the word 5-shingle sets of two texts, as the pipeline shingles them."""
    sa, sb = set(shingles(normalise(a), SHINGLE)), set(shingles(normalise(b), SHINGLE))
    return len(sa & sb) / len(sa | sb)


class _Writer:
    """Sentences and articles about one story: its people, places and things stay put."""

    def __init__(self, rng: random.Random, topic: str) -> None:
        self.rng = rng
        self.deck: list[str] = []
        org, role, thing, event, people = (s.split("|") for s in TOPIC_WORDS[topic])
        self.pool = {k: v.split("|") if "|" in v else v.split() for k, v in WORDS.items()}
        self.pool |= {"thing": thing, "event": event, "people": people}
        first, last = rng.sample(self.pool["first"], 2), rng.sample(self.pool["last"], 2)
        orgs, roles = rng.sample(org, 2), rng.sample(role, 2)
        places, things, events = (rng.sample(self.pool[k], 2) for k in ("place", "thing", "event"))
        self.story = {
            "P": f"{first[0]} {last[0]}",
            "S": last[0],
            "P2": f"{first[1]} {last[1]}",
            "S2": last[1],
            "org": orgs[0],
            "org2": orgs[1],
            "role": roles[0],
            "role2": roles[1],
            "place": places[0],
            "place2": places[1],
            "thing": things[0],
            "thing2": things[1],
            "event": events[0],
            "event2": events[1],
        }

    def _word(self, key: str) -> str:
        rng = self.rng
        if key in self.story:
            return self.story[key]
        if key == "n":
            return f"{rng.choice((rng.randint(2, 99), rng.randint(100, 9000))):,}"
        if key == "pct":
            return str(rng.randint(2, 40)) if rng.random() < 0.6 else f"{rng.uniform(1, 9):.1f}"
        if key == "money":
            return f"£{rng.randint(2, 900)}{rng.choice(('m', 'bn', 'm'))}"
        if key == "quote":
            return self.fill(rng.choice(QUOTES))
        return rng.choice(self.pool[key])

    def fill(self, template: str) -> str:
        def one(match: re.Match[str]) -> str:
            if match.group(1):
                return self._word(match.group(1))
            return self.fill(self.rng.choice(match.group(2).split("|")))

        return _A_VOWEL.sub(r"\1n ", _SLOT.sub(one, template))

    def sentence(self) -> str:
        # Each template once before any repeats, as a writer varies sentences.
        if not self.deck:
            self.deck = self.rng.sample(SENTENCES, len(SENTENCES))
        return self.fill(self.deck.pop())

    def title(self) -> str:
        text = self.fill(self.rng.choice(TITLES))
        return text[0].upper() + text[1:]

    def article(self) -> tuple[str, list[list[str]]]:
        paragraphs = [
            [self.sentence() for _ in range(self.rng.randint(1, 3))]
            for _ in range(self.rng.randint(9, 13))
        ]
        return self.title(), paragraphs


def _ordered(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def render(title: str, paragraphs: list[list[str]]) -> str:
    return title + "\n\n" + "\n\n".join(" ".join(p) for p in paragraphs if p) + "\n"


def _near(w: _Writer, title: str, paras: list[list[str]], band: tuple[float, float]) -> str:
    """Edit a copy (swap words, drop or add sentences) until its Jaccard falls into the band."""
    rng, original = w.rng, render(title, paras)
    target, floor = rng.uniform(*band), band[0] - 0.03
    partial = band[1] < 0.8  # half the text rewritten, not a few edits
    text = original
    while jaccard(original, text) > target:
        edited, new_title = [list(p) for p in paras], title
        p = rng.randrange(len(edited))
        s = rng.randrange(len(edited[p]))
        roll = rng.random()
        words = [x for x in re.findall(r"[a-z]+", edited[p][s]) if x in SYNONYMS]
        if partial or roll < 0.1:
            edited[p][s] = w.sentence()
        elif roll < 0.2 and len(edited[p]) > 1:
            del edited[p][s]
        elif roll < 0.3:
            edited[p].insert(s, w.sentence())
        elif roll < 0.35 and not title.startswith("UPDATED"):
            new_title = f"UPDATED: {title}"
        elif not words:
            continue
        else:
            word = rng.choice(words)
            edited[p][s] = re.sub(rf"\b{word}\b", SYNONYMS[word], edited[p][s], count=1)
        candidate = render(new_title, edited)
        if jaccard(original, candidate) >= floor:  # else too big a step: try another edit
            paras, title, text = edited, new_title, candidate
    return text


def _normalised_copy(rng: random.Random, text: str) -> str:
    """Equal to ``text`` once normalised: case, spaces, CRLF or typographic quotes differ."""
    quotes = iter("\u201c\u201d" * text.count('"'))
    changes: list[Callable[[str], str]] = [
        lambda t: t.replace("\n", "\r\n"),
        lambda t: t.replace(". ", ".  ").replace("\n\n", "  \n\n\n"),
        lambda t: t.split("\n", 1)[0].upper() + "\n" + t.split("\n", 1)[1],
        lambda t: re.sub('"', lambda _: next(quotes), t.replace("'", "\u2019")),
    ]
    copy = text
    for change in rng.sample(changes, rng.randint(1, 2)):
        copy = change(copy)
    return copy if copy != text else text.replace("\n", "\r\n")


def generate(count: int = 2000, seed: int = 2225) -> Corpus:
    """``count`` articles: about 3% exact copies, 3% near, 1.5% partial, 1.5% rewrites."""
    rng = random.Random(seed)
    made: list[tuple[str, str, str, int]] = []  # (topic, text, kind, story index)
    pairs: dict[tuple[int, int], Related] = {}
    plan = ["exact"] * (count // 50) + ["near"] * (count // 33) + ["partial"] * (count // 66)
    plan += ["rewrite"] * (count // 66)
    while len(made) < count:
        topic = TOPICS[len(made) % len(TOPICS)]
        w = _Writer(rng, topic)
        title, paras = w.article()
        text, origin = render(title, paras), len(made)
        made.append((topic, text, "unique", origin))
        kind = plan.pop() if plan and len(made) % 4 == 0 else None
        copies: list[tuple[str, Related]] = []
        if kind == "exact":
            for _ in range(rng.randint(1, 2)):
                copy = text if rng.random() < 0.5 else _normalised_copy(rng, text)
                copies.append((copy, Related("exact", 1.0)))
        elif kind in ("near", "partial"):
            copy = _near(w, title, paras, NEAR if kind == "near" else PARTIAL)
            copies.append((copy, Related(kind, jaccard(text, copy))))
        elif kind == "rewrite":
            copy = render(*w.article())
            copies.append((copy, Related("rewrite", jaccard(text, copy))))
        for copy, rel in copies[: count - len(made)]:
            made.append((topic, copy, rel.kind, origin))
            members = [i for i, m in enumerate(made) if m[3] == origin]
            for i in members[:-1]:  # exact copies of one text are all exact with each other
                pairs[(i, len(made) - 1)] = rel
    order = list(range(len(made)))
    rng.shuffle(order)  # copies land anywhere in their topic's folder, before or after
    numbers = dict.fromkeys(TOPICS, 0)
    names: dict[int, str] = {}
    for i in order:
        topic = made[i][0]
        numbers[topic] += 1
        names[i] = f"{topic}/{numbers[topic]:03d}.txt"
    plain = [i for i in order if made[i][2] == "unique" and "£" in made[i][1]]
    plain = [i for i in plain if not any(i in pair for pair in pairs)][:5]
    files = {
        names[i]: made[i][1].encode("latin-1" if i in plain else "utf-8") for i in sorted(names)
    }
    return Corpus(
        files={name: files[name] for name in sorted(files)},
        pairs={_ordered(names[a], names[b]): rel for (a, b), rel in pairs.items()},
        latin1=tuple(sorted(names[i] for i in plain)),
        kinds={names[i]: made[i][2] for i in names},
    )
