"""Logging set-up: the only place handlers are configured (the CLI and Celery's hook call it).

Lines go to stderr; with `log_file` set, every line at `log_level` also goes
to that file and the terminal keeps only `log_console_level` and above
(WARNING by default), so `ingest up`'s terminal shows what needs a person.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from pathlib import Path

from worker.settings import Settings

_URL_PASSWORD = re.compile(r"(://[^/@:]*:)[^/@]+@")
_KEYWORD_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)")


def mask_password(url: str) -> str:
    """A URL or libpq connection string as it may be printed: the password is `**`."""
    url = _URL_PASSWORD.sub(r"\1**@", url)
    return _KEYWORD_PASSWORD.sub(r"\1**", url)


def printable(name: str) -> str:
    """A file name as it may be printed: no newline, escape sequence or other control.

    Letters of every script stay; control and unprintable characters (and the
    surrogates that stand for bytes that are not UTF-8) become `\\xNN`-style escapes.
    """
    if name.isprintable():
        return name
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in name)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "process": record.process,
            "message": record.getMessage(),
        }
        file_id = getattr(record, "file_id", None)  # lines about one file carry its id
        if file_id is not None:
            line["file_id"] = file_id
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(settings: Settings) -> None:
    formatter = JsonFormatter() if settings.log_format == "json" else logging.Formatter(TEXT_FORMAT)
    level = logging.getLevelName(settings.log_level.upper())
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(formatter)
    handlers: list[logging.Handler] = [console]
    if settings.log_file is not None:
        settings.log_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        file = logging.FileHandler(settings.log_file, encoding="utf-8")
        file.setFormatter(formatter)
        handlers.append(file)
        console.setLevel((settings.log_console_level or "WARNING").upper())
    elif settings.log_console_level:
        console.setLevel(settings.log_console_level.upper())
    root = logging.getLogger()
    root.handlers[:] = handlers
    root.setLevel(level)


def mark_ready() -> None:
    """Create the file a supervising `ingest up` waits for (INGEST_READY_FILE), if any."""
    path = os.environ.get("INGEST_READY_FILE")
    if path:
        Path(path).touch()
