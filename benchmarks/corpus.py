"""Load the shared BBC news corpus used by the benchmarks.

The corpus lives outside the repository, in ``../shared/corpora/bbc`` next
to the checkout (five topic folders of ``NNN.txt`` files: a title line, a
blank line, then the body). Nothing of it is committed to the project; the
articles are the BBC's copyright, for research use. Set ``INGEST_BBC_ROOT``
to read it from somewhere else.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BbcArticle", "decode", "default_bbc_root", "load_bbc"]

_REPO_ROOT = Path(__file__).resolve().parent.parent


def default_bbc_root() -> Path:
    """``$INGEST_BBC_ROOT`` if set, else ``<repo>/../shared/corpora/bbc``."""
    override = os.environ.get("INGEST_BBC_ROOT")
    if override:
        return Path(override)
    return _REPO_ROOT.parent / "shared" / "corpora" / "bbc"


@dataclass(frozen=True, slots=True)
class BbcArticle:
    """One article: its file, the title line and the body below the blank line."""

    path: Path
    title: str
    body: str
    encoding: str = "utf-8"

    @property
    def name(self) -> str:
        """``topic/NNN.txt``, stable across machines."""
        return f"{self.path.parent.name}/{self.path.name}"

    @property
    def topic(self) -> str:
        return self.path.parent.name

    @property
    def text(self) -> str:
        """Title and body as one text (``title + "\\n\\n" + body``).

        This is what an article becomes as the body of a document when the
        corpus is rewritten into the reference (dated text) format, so it is
        what the dedupe benchmarks fingerprint.
        """
        return f"{self.title}\n\n{self.body}"


def decode(raw: bytes) -> tuple[str, str]:
    """Decode as UTF-8 (BOM tolerated), falling back to Latin-1; return (text, encoding)."""
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "latin-1"


def _split(text: str) -> tuple[str, str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    title, sep, body = text.partition("\n")
    if not sep:
        return title.strip(), ""
    return title.strip(), body.strip("\n")


def load_bbc(root: Path | None = None, *, limit: int | None = None) -> list[BbcArticle]:
    """Read every ``*/*.txt`` under ``root`` in a stable (sorted) order.

    Raises ``FileNotFoundError`` when the corpus is missing, rather than
    returning an empty list a benchmark would happily divide by.
    """
    base = default_bbc_root() if root is None else root
    paths = sorted(base.glob("*/*.txt"))
    if not paths:
        raise FileNotFoundError(f"no BBC articles (*/*.txt) under {base}")
    if limit is not None:
        paths = paths[:limit]
    articles = []
    for path in paths:
        text, encoding = decode(path.read_bytes())
        title, body = _split(text)
        articles.append(BbcArticle(path=path, title=title, body=body, encoding=encoding))
    return articles
