"""Examine one claimed file outside any transaction: read, parse, validate, fingerprint.

Reading is the source's (worker.sources): a link or a device is never opened,
the size is checked before a byte is read, and after the read the item must
still be what the watcher claimed: otherwise a writer was still at work, and
the file goes back to wait instead of a partial document being stored.

Everything that looks at the content runs under the per-file time limit: an
exception or a hang is this file's problem (retried alone, then `failed`),
never the batch's. The languages of the batch's documents are read back to
back (`read_languages`) and the documents fingerprinted in one call
(`fingerprint_all`); a file with many or long documents gets both on its own,
inside its time limit.
"""

from __future__ import annotations

import hashlib
import logging
import traceback
from dataclasses import dataclass, field

from worker.dedupe.minhash import PARAMS, Fingerprint, fingerprints
from worker.errors import Rejected
from worker.fates import Verdict
from worker.files.claims import Claim
from worker.logs import printable
from worker.parse import language, parse_file
from worker.parse.limits import TimeLimitExceeded, time_limit
from worker.parse.validate import validate_text, with_language
from worker.reasons import describe
from worker.records import Document, ParseOptions
from worker.sources import Source

log = logging.getLogger(__name__)

#: Above this much text (or this many documents), a file is fingerprinted alone.
ALONE_CHARS = 256 * 1024
ALONE_DOCUMENTS = 64


@dataclass(slots=True)
class Examined:
    """What one file turned out to hold, before the database has a say."""

    claim: Claim
    size: int | None = None
    sha256: str | None = None
    documents: list[tuple[Document, Fingerprint]] = field(default_factory=list)
    # Valid documents with their normalised text, until the batch is fingerprinted at once.
    pending: list[tuple[Document, str]] = field(default_factory=list)
    rejections: list[Verdict] = field(default_factory=list)
    multi_record: bool = False
    verdict: Verdict | None = None  # the whole file's fate, decided here
    crash: str | None = None  # unexpected exception or hang: retried, then `failed`
    crash_code: str = "parser_crashed"  # or parse_timeout
    changed: bool = False  # not what was claimed: back to wait (see `reclaim`)
    now: Claim | None = None  # the claim as the file is now, when changed


def examine(claim: Claim, source: Source, options: ParseOptions, limit_s: float) -> Examined:
    result = Examined(claim)
    try:
        read = source.read(claim, options.max_file_bytes)
    except Rejected as exc:
        result.verdict = Verdict.rejected(exc.reason, exc.detail)
        return result
    except FileNotFoundError:
        result.verdict = Verdict.failed("file_vanished", describe("file_vanished"))
        return result
    except OSError as exc:
        detail = f"The file could not be read: {exc.strerror}."
        result.verdict = Verdict.rejected("unreadable", detail)
        return result
    result.size = len(read.raw)
    if read.now is not None:
        result.changed, result.now = True, read.now
        return result
    raw = read.raw
    result.sha256 = hashlib.sha256(raw).hexdigest()
    try:
        with time_limit(limit_s):
            _judge(result, raw, options)
            if _big(result):
                _read_languages(result)
                _fingerprint_alone(result)
    except Rejected as exc:
        result.verdict = Verdict.rejected(exc.reason, exc.detail)
    except TimeLimitExceeded as exc:
        result.crash, result.crash_code = f"parsing {exc} (parse_time_limit_s)", "parse_timeout"
    except Exception as exc:
        result.crash = _summary(exc)
    if result.crash is not None or result.verdict is not None:
        result.pending.clear()
        result.documents.clear()
        result.rejections.clear()
    if result.crash is not None:
        log.warning(
            "claim %s (%s): %s: %s",
            claim.claim_id,
            printable(claim.name),
            result.crash_code,
            result.crash,
        )
    return result


def read_languages(items: list[Examined]) -> None:
    """The language of every pending document of the batch, one after the other.

    Back to back, fastText's model stays in the CPU's cache: about a third of the
    cost of reading each file's language between its other work. A text that forms
    no words becomes its record's `gibberish` rejection. Should a reading raise,
    only that file is marked as crashed.
    """
    for e in items:
        try:
            _read_languages(e)
        except Exception as exc:
            e.crash = _summary(exc)
            e.pending.clear()
            e.rejections.clear()


def fingerprint_all(items: list[Examined]) -> None:
    """Fingerprint every pending document of the batch in one rensa call.

    One call for the batch costs half of one per document. Should it raise,
    each file is tried alone, so only the file at fault is marked as crashed.
    """
    pending = [(e, doc, text) for e in items for doc, text in e.pending]
    try:
        prints = fingerprints([text for _e, _d, text in pending], PARAMS)
    except Exception:
        for e in items:
            _fingerprint_alone(e, catch=True)
        return
    for (e, doc, _text), print_ in zip(pending, prints, strict=True):
        e.documents.append((doc, print_))
    for e in items:
        e.pending.clear()


def _read_languages(e: Examined) -> None:
    kept: list[tuple[Document, str]] = []
    for doc, text in e.pending:
        checked = with_language(doc, language.read(doc.body))
        if isinstance(checked, Verdict):
            e.rejections.append(checked)
        else:
            kept.append((checked, text))
    e.pending = kept


def _big(e: Examined) -> bool:
    return (
        len(e.pending) > ALONE_DOCUMENTS or sum(len(text) for _d, text in e.pending) > ALONE_CHARS
    )


def _fingerprint_alone(e: Examined, *, catch: bool = False) -> None:
    try:
        prints = fingerprints([text for _doc, text in e.pending], PARAMS)
    except Exception as exc:
        if not catch:
            raise
        e.crash = _summary(exc)
        e.rejections.clear()
    else:
        e.documents.extend((doc, p) for (doc, _t), p in zip(e.pending, prints, strict=True))
    e.pending.clear()


def _judge(result: Examined, raw: bytes, options: ParseOptions) -> None:
    parsed = parse_file(raw, result.claim.name, options)
    result.multi_record = len(parsed) != 1 or any(
        getattr(item, "record", None) is not None for item in parsed
    )
    for item in parsed:
        checked = item if isinstance(item, Verdict) else validate_text(item, options)
        if isinstance(checked, Verdict):
            result.rejections.append(checked)
        else:
            result.pending.append((checked, checked.normalised))


def _summary(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(exc)).strip()[:500]
