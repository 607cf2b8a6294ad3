"""gzip: inflate in bounded steps so a small bomb cannot exhaust memory."""

from __future__ import annotations

import zlib

from worker.errors import Rejected

GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20  # output produced per step


def is_gzip(raw: bytes) -> bool:
    return raw.startswith(GZIP_MAGIC)


def gunzip(raw: bytes, limit: int) -> bytes:
    """Decompress every gzip member of `raw`, never holding more than `limit` bytes.

    Raises `Rejected("too_large")` past the limit and `Rejected("corrupt_archive")`
    for a damaged or truncated stream.
    """
    out = bytearray()
    data = raw
    while data:
        inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)  # 16: gzip header
        try:
            while not inflater.eof:
                room = limit - len(out)
                # Ask for at most one byte beyond the limit: enough to know it is exceeded.
                chunk = inflater.decompress(data, min(_CHUNK, room + 1))
                out += chunk
                if len(out) > limit:
                    raise Rejected(
                        "too_large",
                        f"The gzip data inflates beyond max_decompressed_bytes ({limit} bytes); "
                        "split it into smaller files.",
                    )
                data = inflater.unconsumed_tail
                if not chunk and not data:
                    break  # input exhausted before the end of the stream
        except zlib.error as exc:
            raise Rejected(
                "corrupt_archive",
                f"The gzip data is corrupt ({exc}); compress the file again and drop it.",
            ) from exc
        if not inflater.eof:
            raise Rejected(
                "corrupt_archive",
                "The gzip data is truncated (it ends before the end of the stream); "
                "copy the complete file again.",
            )
        # Concatenated members (`cat a.gz b.gz`) are valid gzip; padding zeros are not data.
        data = inflater.unused_data
        if data and not data.startswith(GZIP_MAGIC):
            if data.strip(b"\x00"):
                raise Rejected(
                    "corrupt_archive",
                    "The gzip file has trailing bytes that are not gzip data; "
                    "compress the file again.",
                )
            break
    return bytes(out)
