"""`ingest up`'s children: started, watched, restarted with back-off, never silent.

Each child (the Celery worker, the watcher) runs in its own session, writes
its log to the log file and its stderr (warnings, errors, crashes) to a pipe
that we relay to the terminal and keep the last lines of. A child is *ready*
when it creates its ready file. One that dies before it is ready cannot start:
`ingest up` stops and shows why. One that dies later is restarted after a
back-off that doubles with each crash in a row; too many in a row is a crash
loop, and `ingest up` stops with a non-zero exit.
"""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from worker.embedded.children import preexec
from worker.errors import ConfigurationError

#: A child that ran this long is healthy again: its next crash starts the count anew.
STABLE_S = 60.0
#: Crashes in a row (each within STABLE_S of its start) that make a crash loop.
MAX_CRASHES = 5
BACKOFF_S = (1.0, 2.0, 4.0, 8.0, 16.0)
TAIL_LINES = 30

Relay = Callable[[str, str], None]  # (child name, one stderr line)


def _exit(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


class ChildFailed(ConfigurationError):
    def __init__(self, name: str, why: str, tail: list[str]) -> None:
        lines = "\n".join(f"  {line}" for line in tail) or "  (it printed nothing)"
        super().__init__(f"the {name} {why}; its last lines:\n{lines}")


@dataclass
class Child:
    name: str
    command: list[str]
    env: dict[str, str]
    log: Path
    ready_file: Path
    relay: Relay
    grace_s: float = 7.0
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    ready: bool = False
    crashes: int = 0
    restart_at: float | None = None
    terminated: bool = False
    tail: collections.deque[str] = field(
        default_factory=lambda: collections.deque(maxlen=TAIL_LINES)
    )

    def start(self) -> None:
        self.ready_file.unlink(missing_ok=True)
        self.ready = False
        self.terminated = False
        self.tail.clear()
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                self.command,
                env={**self.env, "INGEST_READY_FILE": str(self.ready_file)},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.PIPE,
                start_new_session=True,  # Ctrl-C reaches `ingest up` only; it stops us in order
                preexec_fn=preexec(signal.SIGTERM),
            )
        self.started = time.monotonic()
        assert self.process.stderr is not None
        threading.Thread(
            target=self._read, args=(self.process.stderr,), name=f"{self.name}-stderr", daemon=True
        ).start()

    def _read(self, stream: IO[bytes]) -> None:
        for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip()
            if line:
                self.tail.append(line)
                self.relay(self.name, line)

    def poll(self) -> int | None:
        """The exit code once the child has exited; None while it runs."""
        if self.process is None:
            return None
        code = self.process.poll()
        if code is None and not self.ready and self.ready_file.exists():
            self.ready = True
        return code

    def terminate(self) -> None:
        """SIGTERM to the main process only: a graceful stop (a group signal would kill
        Celery's pool children mid-batch)."""
        if self.process is not None and self.process.poll() is None and not self.terminated:
            self.terminated = True
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        process = self.process
        if process is None:
            return
        self.terminate()
        if process.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=self.grace_s)
        self.reap()

    def reap(self) -> None:
        """Kill what is left of the child's session (a pool child of a killed worker)."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


class Supervisor:
    def __init__(
        self,
        children: list[Child],
        say: Callable[[str], None],
        *,
        backoff_s: tuple[float, ...] = BACKOFF_S,
        max_crashes: int = MAX_CRASHES,
        stable_s: float = STABLE_S,
    ) -> None:
        self.children = children
        self.say = say
        self.backoff_s = backoff_s
        self.max_crashes = max_crashes
        self.stable_s = stable_s

    def start(self, stop: threading.Event, timeout: float = 90.0) -> None:
        """Start every child and wait until all are ready; raise ChildFailed if one cannot."""
        for child in self.children:
            child.start()
        deadline = time.monotonic() + timeout
        while not stop.is_set():
            waiting = False
            for child in self.children:
                code = child.poll()
                if code is not None:
                    time.sleep(0.2)  # let the reader catch the last lines
                    raise ChildFailed(
                        child.name, f"could not start (exit code {code})", list(child.tail)
                    )
                waiting = waiting or not child.ready
            if not waiting:
                return
            if time.monotonic() > deadline:
                raise ChildFailed(
                    next(c.name for c in self.children if not c.ready),
                    f"was not ready after {timeout:.0f}s",
                    [],
                )
            stop.wait(0.1)

    def tick(self) -> None:
        """Notice dead children, restart them when their back-off is over."""
        now = time.monotonic()
        for child in self.children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    child.restart_at = None
                    self.say(f"restarting the {child.name}")
                    child.start()
                continue
            code = child.poll()
            if code is None:
                if child.crashes and now - child.started > self.stable_s:
                    child.crashes = 0
                continue
            child.reap()
            child.crashes = child.crashes + 1 if now - child.started < self.stable_s else 1
            why = f"exited ({_exit(code)}) after {now - child.started:.0f}s"
            if child.crashes >= self.max_crashes:
                raise ChildFailed(
                    child.name, f"{why}, {child.crashes} times in a row", list(child.tail)
                )
            delay = self.backoff_s[min(child.crashes, len(self.backoff_s)) - 1]
            self.say(f"the {child.name} {why}; restarting in {delay:.0f}s")
            child.restart_at = now + delay

    def stop(self) -> None:
        """SIGTERM to every child at once, then wait for each (watcher first in the list)."""
        for child in self.children:
            child.terminate()
        for child in self.children:
            child.stop()
