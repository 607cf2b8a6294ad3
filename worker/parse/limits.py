"""A per-file time limit, so one pathological file cannot hold a batch for long.

Enforced with SIGALRM on the main thread (a Celery prefork child runs its task
there; billiard uses SIGUSR1 for its own soft limit, so SIGALRM is free). On
any other thread it is a no-op: the Celery hard time limit stays the backstop,
and it also covers C code that never returns to the interpreter.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType


class TimeLimitExceeded(BaseException):
    """Raised inside the limited block when its time is up.

    A BaseException, like KeyboardInterrupt: parsing libraries that catch Exception
    around their own steps must not swallow it and carry on.
    """

    def __init__(self, seconds: float) -> None:
        super().__init__(f"took longer than {seconds:g}s")
        self.seconds = seconds


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(_signum: int, _frame: FrameType | None) -> None:
        raise TimeLimitExceeded(seconds)

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
