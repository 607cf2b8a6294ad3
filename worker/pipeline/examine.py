"""Examine one claimed file outside any transaction: read, parse, validate, fingerprint.

Reading: the spool entry is judged by `lstat` first (a link or a device is
never opened), then opened with O_NOFOLLOW | O_NONBLOCK; its size is checked
before a byte is read, and the read stops one byte past the limit. After the
read the file must still be what the watcher claimed (inode, size, modified
time): otherwise a writer was still at work, and the file goes back to wait
instead of a partial document being stored.

Everything that looks at the content runs under the per-file time limit: an
exception or a hang is this file's problem (retried alone, then `failed`),
never the batch's. Documents are fingerprinted in one call for the batch
(`fingerprint_all`); a file with many or long documents is fingerprinted on
its own, inside its time limit.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
import traceback
from dataclasses import dataclass, field

from worker.dedupe.minhash import PARAMS, Fingerprint, fingerprints
from worker.errors import Rejected
from worker.fates import Verdict
from worker.files.claims import Claim
from worker.files.spool import lstat_claimed, open_claimed
from worker.logs import printable
from worker.parse import parse_file
from worker.parse.limits import TimeLimitExceeded, time_limit
from worker.parse.validate import validate
from worker.reasons import describe
from worker.records import Document, ParseOptions

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


def examine(claim: Claim, spool: int, options: ParseOptions, limit_s: float) -> Examined:
    result = Examined(claim)
    try:
        raw = _read(spool, claim, options.max_file_bytes, result)
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
    if result.changed:
        return result
    result.sha256 = hashlib.sha256(raw).hexdigest()
    try:
        with time_limit(limit_s):
            _judge(result, raw, options)
            if _big(result):
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
        checked = item if isinstance(item, Verdict) else validate(item, options)
        if isinstance(checked, Verdict):
            result.rejections.append(checked)
        else:
            result.pending.append((checked, checked.normalised))


def _read(spool: int, claim: Claim, limit: int, result: Examined) -> bytes:
    info = lstat_claimed(spool, claim)
    if not stat.S_ISREG(info.st_mode):
        raise _not_regular(info)
    try:
        fd = open_claimed(spool, claim)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENXIO):  # swapped for a link; a socket
            raise _not_regular(info) from exc
        raise
    with os.fdopen(fd, "rb") as handle:
        before = os.fstat(handle.fileno())
        if not stat.S_ISREG(before.st_mode):
            raise _not_regular(before)
        result.size = before.st_size
        if before.st_size > limit:
            raise Rejected(
                "too_large", f"The file has {before.st_size} bytes; the limit is {limit} bytes."
            )
        raw = handle.read(limit + 1)
        after = os.fstat(handle.fileno())
    if len(raw) > limit:
        raise Rejected("too_large", f"The file grew beyond the limit of {limit} bytes.")
    result.size = len(raw)
    if _changed(claim, after, len(raw)):
        result.changed = True
        result.now = Claim(
            claim.claim_id,
            claim.name,
            claim.received_at,
            after.st_ino,
            after.st_size,
            after.st_mtime_ns,
        )
    return raw


def _changed(claim: Claim, after: os.stat_result, read: int) -> bool:
    if claim.ino is None:
        return after.st_size != read  # an old message: only what we can see now
    return (after.st_ino, after.st_size, after.st_mtime_ns, read) != (
        claim.ino,
        claim.size,
        claim.mtime_ns,
        claim.size,
    )


def _not_regular(info: os.stat_result) -> Rejected:
    if stat.S_ISLNK(info.st_mode):
        return Rejected(
            "symlink",
            "The inbox entry is a symbolic link, and links are never followed; "
            "copy or move the file itself into the inbox.",
        )
    return Rejected(
        "not_a_file",
        "The inbox entry is not a regular file (a named pipe, socket or device) and was "
        "not read; drop regular files only.",
    )


def _summary(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(exc)).strip()[:500]
