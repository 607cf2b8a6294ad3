"""Format registry: bytes of one file -> the records it holds.

Formats are recognised by content first, extension second. A whole-file
problem raises `Rejected`; a problem with one record of a multi-record file
is returned as a `RecordRejection` so the other records still count.
"""

from __future__ import annotations

from worker.errors import Rejected
from worker.parse import dated_text
from worker.records import Article, ParseOptions, RecordRejection


def parse_file(raw: bytes, name: str, options: ParseOptions) -> list[Article | RecordRejection]:
    if not raw.strip():
        raise Rejected("empty_file", "The file is empty or holds only white space.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Rejected("undecodable", f"The file is not valid UTF-8 ({exc.reason}).") from exc
    return [dated_text.parse(text)]
