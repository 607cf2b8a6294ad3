"""ISO dates as written in files: `YYYY-MM-DD`, optionally followed by a time."""

from __future__ import annotations

import re
from datetime import date

from worker.errors import Rejected

# A date, then optionally a time part (`T10:00:00Z`, ` 10:00+02:00`) we ignore:
# the publication day is what we store.
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[Tt ][0-9:.,+\-Zz ]*)?")


def parse_iso_date(text: str, where: str = "The date") -> date:
    """The calendar date at the start of an ISO date or datetime.

    Raises `Rejected("invalid_date")` with a detail naming the date, for
    both malformed text and impossible days such as 2021-02-30.
    """
    value = text.strip()
    match = _ISO.fullmatch(value)
    if match is None:
        raise Rejected(
            "invalid_date",
            f"{where} {value[:40]!r} is not an ISO date; write it as YYYY-MM-DD.",
        )
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError as exc:
        day = f"{match[1]}-{match[2]}-{match[3]}"
        raise Rejected(
            "invalid_date",
            f"{where} {day} does not exist ({exc}); correct it to a real calendar day.",
        ) from exc
