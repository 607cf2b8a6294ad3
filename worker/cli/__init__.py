"""The `ingest` command: `up` and its supervisor, the processes, the operator's commands."""

from worker.cli.main import main

__all__ = ["main"]
