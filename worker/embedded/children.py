"""Server processes that die with their parent and never run as root when they must not.

`ingest up`, the test fixtures and the benchmarks start PostgreSQL and Valkey
as their own children (in the foreground, no daemon). On Linux each child asks
the kernel for a signal when its parent dies (`PR_SET_PDEATHSIG`), so a parent
killed with SIGKILL still takes its servers down cleanly instead of leaving
them running on the data dir.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

from worker.errors import ConfigurationError

_PR_SET_PDEATHSIG = 1


def _pdeathsig(sig: int) -> None:
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)


def preexec(
    death_signal: int, uid: int | None = None, gid: int | None = None
) -> Callable[[], None]:
    """A child set-up: drop to `uid`/`gid` (if given), then ask for `death_signal`.

    The order matters: the kernel clears the death signal when the uid changes.
    """

    def run() -> None:
        if gid is not None:
            os.setgroups([])
            os.setgid(gid)
        if uid is not None:
            os.setuid(uid)
        _pdeathsig(death_signal)

    return run


def spawn(
    command: Sequence[str],
    *,
    death_signal: int,
    log: IO[bytes],
    uid: int | None = None,
    gid: int | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start a server in its own session with output appended to `log`."""
    return subprocess.Popen(
        list(command),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # Ctrl-C in a terminal reaches the parent only
        preexec_fn=preexec(death_signal, uid, gid),
        env=env,
    )


def stop(process: subprocess.Popen[bytes], sig: int, grace: float) -> None:
    """Send `sig`, wait up to `grace` seconds, then kill."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(sig)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        process.wait()


def wait_until(check: Callable[[], bool], process: subprocess.Popen[bytes], timeout: float) -> bool:
    """Poll `check` until it holds; False when the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def wait_ready(
    process: subprocess.Popen[bytes],
    check: Callable[[], bool],
    *,
    timeout: float,
    stop: Callable[[], None],
    what: str,
    log: Path,
) -> None:
    """Wait until `check` holds; otherwise stop the server and say why, with its log."""
    if wait_until(check, process, timeout):
        return
    code = process.poll()
    stop()
    raise ConfigurationError(f"{what} did not start (exit code {code}); see {log}")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    return True


def terminate_pid(pid: int, sig: int = signal.SIGINT, grace: float = 10.0) -> None:
    """Stop a process we did not start (a server left by a killed parent elsewhere)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    deadline = time.monotonic() + grace
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if pid_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
