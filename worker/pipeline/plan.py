"""The attempt plan: what a batch does with each claim, from its ledger row alone. Pure.

`attempts` counts the times processing of a file *started*. A new ledger row
starts at 1. A row still in flight that this task meets again either belongs
to this very run (a retry of this task after a database outage: not a new
start) or started before and never finished (a worker killed, a time limit, a
crash, or a copy of the claim from a redelivery or the spool sweep).

- already final: skip the work, only finish the move (a twin task decided it);
- over `max_attempts`: fail it (`attempts_exhausted`);
- started before, in a batch of several: send it off alone, so a poison file
  cannot sink a batch twice, and without charging it: sending off is not a start;
- otherwise run it (counting one more start where this is one).

After examining, a crash or a hang is retried alone until `max_attempts`,
then the file fails with that crash's reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from worker.fates import Fate


@dataclass(frozen=True, slots=True)
class Registered:
    claim_id: str
    file_id: int
    status: Fate
    attempts: int
    inserted: bool  # the row was created by this registration


@dataclass(slots=True)
class Plan:
    final: list[str] = field(default_factory=list)
    exhausted: dict[str, int] = field(default_factory=dict)  # claim -> attempts
    run: list[str] = field(default_factory=list)  # this start is counted already
    start: list[str] = field(default_factory=list)  # count one more start, then run
    alone: dict[str, int] = field(default_factory=dict)  # claim -> attempts so far


def plan(rows: list[Registered], *, count_attempts: bool, max_attempts: int) -> Plan:
    """`count_attempts=False` when this is the same task again after a transient
    error: an outage is never held against a file."""
    result = Plan()
    in_flight = [r for r in rows if not r.status.final]
    for row in rows:
        if row.status.final:
            result.final.append(row.claim_id)
            continue
        counted = row.inserted or not count_attempts
        starts = row.attempts if counted else row.attempts + 1
        if starts > max_attempts:
            result.exhausted[row.claim_id] = row.attempts
        elif counted:
            result.run.append(row.claim_id)
        elif row.attempts > 0 and len(in_flight) > 1:
            result.alone[row.claim_id] = row.attempts
        else:
            result.start.append(row.claim_id)
    return result


def after_crash(attempts: int, max_attempts: int) -> bool:
    """True: the file has had its last chance and fails; False: retry it alone."""
    return attempts >= max_attempts


def retry_delay(attempts: int) -> float:
    """Seconds before a file sent off alone is tried again."""
    return float(min(30, 2**attempts))
