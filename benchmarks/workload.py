"""A realistic drop workload built from a corpus, in the reference format.

The corpus is the generated one unless the caller passes articles (the
benchmarks' ``--corpus DIR``, such as the BBC news corpus).
Mix (by default): ~80% unique articles (each a new combination of paragraphs
from several corpus articles, so texts are distinct but written the same way),
~8% exact copies (re-encoded: CRLF or extra spaces, so only normalisation
makes them equal), ~6% near-copies (retitled, a paragraph dropped, a byline
added), ~3% originals, ~3% rejects (no date, impossible date, empty body).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from benchmarks.corpus import Article, load


@dataclass(frozen=True, slots=True)
class DropFile:
    name: str
    data: bytes
    expect: str  # "document", "duplicate", "near", "rejected"


def _dated(day: date, text: str) -> bytes:
    return f"date {day.isoformat()} {text}\n".encode()


def build(count: int, seed: int = 7, articles: list[Article] | None = None) -> list[DropFile]:
    rng = random.Random(seed)
    corpus = articles if articles is not None else load()
    paragraphs = [p for a in corpus for p in a.body.split("\n\n") if len(p.split()) >= 12]
    files: list[DropFile] = []
    made: list[tuple[date, str]] = []
    start = date(2004, 1, 1)
    for i in range(count):
        roll = rng.random()
        day = start + timedelta(days=rng.randrange(700))
        name = f"{i // 1000:03d}/{i:06d}.txt"
        if roll < 0.03:
            kind = rng.randrange(3)
            data = (
                b"No date header, just words in a file that someone dropped here.\n"
                if kind == 0
                else b"date 2021-02-30 An impossible date on an otherwise fine article body.\n"
                if kind == 1
                else b"date 2020-01-01 \n"
            )
            files.append(DropFile(name, data, "rejected"))
        elif roll < 0.11 and made:
            day_, text = rng.choice(made)
            variant = (
                text.replace("\n", "\r\n") if rng.random() < 0.5 else text.replace(". ", ".  ")
            )
            files.append(DropFile(name, _dated(day_, variant), "duplicate"))
        elif roll < 0.17 and made:
            day_, text = rng.choice(made)
            parts = text.split("\n\n")
            if len(parts) > 4 and rng.random() < 0.5:
                del parts[rng.randrange(1, len(parts))]
            else:
                parts[0] = "UPDATED: " + parts[0]
            parts.insert(1, "By a staff reporter")
            files.append(DropFile(name, _dated(day_, "\n\n".join(parts)), "near"))
        elif roll < 0.20:
            article = rng.choice(corpus)
            text = article.text
            made.append((day, text))
            files.append(DropFile(name, _dated(day, text), "document"))
        else:
            title = rng.choice(corpus).title
            # A few hundred words, as a news article, whatever the corpus's paragraph length.
            words, chosen = rng.randint(250, 750), []
            for paragraph in rng.sample(paragraphs, 30):
                chosen.append(paragraph)
                words -= len(paragraph.split())
                if words <= 0:
                    break
            body = "\n\n".join(chosen)
            text = f"{title}\n\n{body}"
            made.append((day, text))
            files.append(DropFile(name, _dated(day, text), "document"))
    return files
