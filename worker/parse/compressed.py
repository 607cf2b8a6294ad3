"""gzip: inflate in bounded steps so a small bomb cannot exhaust memory.

Input is handed to zlib in slices of a memoryview, growing from 64 bytes to
64 KiB within a member: zlib copies back what a step leaves over, so a slice
as long as the rest of the file would make many small members (`cat` of
empty .gz files) cost quadratic time.
"""

from __future__ import annotations

import zlib

from worker.errors import Rejected

GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20  # output produced per step
_FIRST_FEED = 64  # input handed over in a member's first step; doubles up to _MAX_FEED
_MAX_FEED = 1 << 16


def is_gzip(raw: bytes) -> bool:
    return raw.startswith(GZIP_MAGIC)


def gunzip(raw: bytes, limit: int) -> bytes:
    """Decompress every gzip member of `raw`, never holding more than `limit` bytes.

    Raises `Rejected("too_large")` past the limit and `Rejected("corrupt_archive")`
    for a damaged or truncated stream.
    """
    out = bytearray()
    view = memoryview(raw)
    at = 0
    while at < len(raw):
        at = _inflate_member(view, at, limit, out)
        # Concatenated members (`cat a.gz b.gz`) are valid gzip; padding zeros are not data.
        if at < len(raw) and not raw.startswith(GZIP_MAGIC, at):
            if raw.count(0, at) != len(raw) - at:
                raise Rejected(
                    "corrupt_archive",
                    "The gzip file has trailing bytes that are not gzip data; "
                    "compress the file again.",
                )
            break
    return bytes(out)


def _inflate_member(view: memoryview, at: int, limit: int, out: bytearray) -> int:
    """Inflate the member that starts at `at` onto `out`; return the offset past its end."""
    inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)  # 16: gzip header
    fed, feed = at, _FIRST_FEED
    pending: bytes | memoryview = b""
    try:
        while not inflater.eof:
            if not pending and fed < len(view):
                pending = view[fed : fed + feed]
                fed, feed = fed + len(pending), min(2 * feed, _MAX_FEED)
            room = limit - len(out)
            # Ask for at most one byte beyond the limit: enough to know it is exceeded.
            chunk = inflater.decompress(pending, min(_CHUNK, room + 1))
            out += chunk
            if len(out) > limit:
                raise Rejected(
                    "too_large",
                    f"The gzip data inflates beyond max_decompressed_bytes ({limit} bytes); "
                    "split it into smaller files.",
                )
            pending = inflater.unconsumed_tail
            if not chunk and not pending and fed >= len(view) and not inflater.eof:
                raise Rejected(
                    "corrupt_archive",
                    "The gzip data is truncated (it ends before the end of the stream); "
                    "copy the complete file again.",
                )
    except zlib.error as exc:
        raise Rejected(
            "corrupt_archive",
            f"The gzip data is corrupt ({exc}); compress the file again and drop it.",
        ) from exc
    return fed - len(inflater.unused_data)
