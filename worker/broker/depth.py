"""How much waits in the broker: batches queued, and batches taken but not acknowledged."""

from __future__ import annotations

from dataclasses import dataclass

import redis

from worker.constants import QUEUE

# Celery's Redis transport keeps priorities in sibling lists (default steps 0, 3, 6, 9).
_QUEUE_LISTS = (QUEUE, *(f"{QUEUE}\x06\x16{step}" for step in (3, 6, 9)))


@dataclass(frozen=True, slots=True)
class Depth:
    waiting: int | None
    unacked: int | None
    error: str | None = None

    def pair(self) -> tuple[int, int] | None:
        if self.waiting is None or self.unacked is None:
            return None
        return self.waiting, self.unacked


def queue_depth(broker_url: str | None) -> Depth:
    if not broker_url:
        return Depth(None, None, "broker_url is not set")
    client = redis.Redis.from_url(broker_url, socket_timeout=2, socket_connect_timeout=2)
    try:
        waiting = sum(int(client.llen(name)) for name in _QUEUE_LISTS)
        unacked = int(client.hlen("unacked"))
    except redis.RedisError as exc:
        return Depth(None, None, f"broker unavailable: {exc}")
    finally:
        client.close()
    return Depth(waiting, unacked)
