"""An `ingest up` run the way a user runs it: from a project folder, no INGEST_* variables."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.support import wait_for


def user_env(**extra: str) -> dict[str, str]:
    """The environment of a user who set nothing (no INGEST_* at all)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGEST_")}
    env.update(extra)
    return env


class RunningUp:
    def __init__(self, ingest: Path, project: Path, env: dict[str, str] | None = None) -> None:
        self.ingest = ingest
        self.project = project
        self.env = env if env is not None else user_env()
        self.out = project / "up.out"
        self.err = project / "up.err"
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.process = subprocess.Popen(
                [str(ingest), "up"], cwd=project, env=self.env, stdout=out, stderr=err
            )

    def stdout(self) -> str:
        return self.out.read_text(errors="replace")

    def stderr(self) -> str:
        return self.err.read_text(errors="replace")

    def wait_ready(self, timeout: float = 120) -> str:
        """The DSN from the header, once `ingest up` has printed it."""

        def dsn() -> str | None:
            if self.process.poll() is not None:
                raise AssertionError(f"ingest up exited early:\n{self.stderr()[-3000:]}")
            for line in self.stdout().splitlines():
                if line.startswith("PostgreSQL: "):
                    return line.split(": ", 1)[1].strip()
            return None

        return wait_for(dsn, timeout=timeout, what="ingest up's header")

    def command(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Another `ingest` command, from the project folder, with no variables."""
        result = subprocess.run(
            [str(self.ingest), *args],
            cwd=self.project,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if check:
            assert result.returncode == 0, result.stdout + result.stderr
        return result

    def status(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.command("status", "--json").stdout)
        return data

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> tuple[int, float]:
        """Stop it; its exit code and how long it took."""
        started = time.monotonic()
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(timeout=timeout)
        return code, time.monotonic() - started
