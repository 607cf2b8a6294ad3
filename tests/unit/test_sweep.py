"""The spool sweep with a hand-driven clock: republish what is still in the spool, backing off."""

from __future__ import annotations

from worker.files.claims import Claim
from worker.watcher.sweep import Sweep


def test_only_claims_left_in_the_spool_go_out_again_each_wait_twice_as_long() -> None:
    now = [0.0]
    in_spool = {"lost"}
    sweep = Sweep(10.0, lambda c: c.claim_id in in_spool, clock=lambda: now[0])
    done = Claim("done", "done.txt", "")
    lost = Claim("lost", "lost.txt", "")
    sweep.sent([done, lost])

    now[0] = 9.9
    assert sweep.due() == []
    now[0] = 10.0
    again = sweep.due()
    assert [c.name for c in again] == ["lost.txt"]  # done.txt reached its fate
    sweep.sent(again)

    now[0] = 29.9  # the second wait is twice the first: due at 10 + 20
    assert sweep.due() == []
    now[0] = 30.0
    assert [c.name for c in sweep.due()] == ["lost.txt"]
    assert sweep.requeued == 2


def test_off_when_the_wait_is_zero() -> None:
    sweep = Sweep(0.0, lambda c: True, clock=lambda: 1e9)
    sweep.sent([Claim("a", "a.txt", "")])
    assert sweep.due() == []
