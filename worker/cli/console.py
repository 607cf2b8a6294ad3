"""`ingest up`'s terminal: a header, one live line, and the messages that need a person.

On a terminal the live line is redrawn in place and messages are printed
above it; elsewhere (a pipe, a log collector) the line is printed when it
changes, at most every few seconds.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

PIPE_INTERVAL_S = 5.0


class Console:
    def __init__(self, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> None:
        self.out = out
        self.err = err
        self.tty = out.isatty()
        self._lock = threading.Lock()
        self._line = ""
        self._printed = 0.0

    def header(self, text: str) -> None:
        with self._lock:
            self.out.write(text + "\n")
            self.out.flush()

    def say(self, text: str) -> None:
        """A message on stderr, above the live line."""
        with self._lock:
            if self.tty and self._line:
                self.out.write("\r\x1b[K")
                self.out.flush()
            self.err.write(text + "\n")
            self.err.flush()
            if self.tty and self._line:
                self.out.write(self._line)
                self.out.flush()

    def relay(self, name: str, line: str) -> None:
        self.say(f"[{name}] {line}")

    def live(self, line: str) -> None:
        with self._lock:
            if self.tty:
                self.out.write("\r\x1b[K" + line)
                self.out.flush()
            elif line != self._line and (
                not self._line or time.monotonic() - self._printed >= PIPE_INTERVAL_S
            ):
                self.out.write(line + "\n")
                self.out.flush()
                self._printed = time.monotonic()
            else:
                return
            self._line = line

    def close(self) -> None:
        with self._lock:
            if self.tty and self._line:
                self.out.write("\n")
                self.out.flush()
            self._line = ""
