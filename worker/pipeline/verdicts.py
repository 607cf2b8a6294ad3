"""A file's fate from what it held and what the database said about its documents. Pure.

A single-record file is stored (it created its document), a duplicate (the
document existed), or rejected with its record's reason. A multi-record file
(NDJSON) is `stored` if any record was stored, else `duplicate` if any record
repeated a document, else `rejected` (`no_valid_records`), with a summary.
"""

from __future__ import annotations

from dataclasses import dataclass

from worker.fates import Fate, Verdict
from worker.pipeline.examine import Examined


@dataclass(slots=True)
class Split:
    """Which of a file's records created a document and which repeat one."""

    stored: list[str]  # content keys
    duplicates: list[tuple[int | None, str]]  # (record number, content key)


@dataclass(frozen=True, slots=True)
class Decided:
    verdict: Verdict
    document_id: int | None = None


def split(e: Examined, file_id: int, owners: dict[str, int]) -> Split:
    """`owners`: content key -> the file whose record created the document in this batch."""
    seen: set[str] = set()
    result = Split([], [])
    for document, print_ in e.documents:
        key = print_.content_sha256
        if owners.get(key) == file_id and key not in seen:
            result.stored.append(key)
        else:
            result.duplicates.append((document.record, key))
        seen.add(key)
    return result


def decide(e: Examined, parts: Split, doc_ids: dict[str, int]) -> Decided:
    if e.verdict is not None:
        return Decided(e.verdict)
    if not e.multi_record:
        if e.rejections:
            return Decided(e.rejections[0])
        key = e.documents[0][1].content_sha256
        fate = Fate.STORED if parts.stored else Fate.DUPLICATE
        return Decided(Verdict(fate), doc_ids[key])
    stored, duplicates, rejected = len(parts.stored), len(parts.duplicates), len(e.rejections)
    summary = (
        f"{_records(stored + duplicates + rejected)}: {stored} stored, "
        f"{duplicates} duplicate, {rejected} rejected."
    )
    if stored:
        return Decided(Verdict(Fate.STORED, detail=summary))
    if duplicates:
        return Decided(Verdict(Fate.DUPLICATE, detail=summary))
    if rejected:
        return Decided(Verdict.rejected("no_valid_records", summary))
    return Decided(Verdict.rejected("empty_file", "The file holds no records."))


def records_count(e: Examined) -> int | None:
    return len(e.documents) + len(e.rejections) if e.multi_record else None


def _records(count: int) -> str:
    return "1 record" if count == 1 else f"{count} records"


def sidecar(row: dict[str, object], records: list[dict[str, object]]) -> dict[str, object]:
    """A rejected or failed file's `.error.json`, from its ledger row (and its records')."""
    received = row.get("received_at")
    return {
        "file_id": row["id"],
        "name": row["name"],
        "status": str(row["status"]),
        "reason": row["reason"],
        "detail": row["detail"],
        "sha256": row.get("sha256"),
        "received_at": received.isoformat() if hasattr(received, "isoformat") else received,
        "records": records,
    }
