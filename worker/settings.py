"""Typed settings: defaults here, then config/ingest.toml, then INGEST_* env vars.

The file is `$INGEST_CONFIG` if set, else `./config/ingest.toml` when it exists;
one owned by another user (root aside) or writable by every user is refused.
Every field is documented in config/ingest.toml and the README.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from worker.constants import SPOOL_FOLDER
from worker.errors import ConfigurationError
from worker.records import ParseOptions


def config_file() -> Path:
    return Path(os.environ.get("INGEST_CONFIG", "config/ingest.toml"))


def _check_trusted(path: Path) -> None:
    # The file names the database, the folders and who may delete what: one
    # that another user wrote (say in a folder root runs `ingest prune` from)
    # is refused, not read.
    info = path.stat()
    if info.st_uid not in (os.geteuid(), 0):
        raise ConfigurationError(
            f"{path.absolute()} belongs to another user (uid {info.st_uid}): not read. "
            "Use a config file you own (INGEST_CONFIG), or run from your own project folder."
        )
    if info.st_mode & 0o002:
        raise ConfigurationError(
            f"{path.absolute()} is writable by every user: not read. "
            f"Run `chmod o-w {path}` (or point INGEST_CONFIG at a file only you can change)."
        )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INGEST_", extra="ignore", frozen=True)

    # Where things are. Unset URLs mean: `ingest up` starts embedded servers.
    database_url: str | None = None
    broker_url: str | None = None
    # A folder, or an object-store prefix `s3://BUCKET/PREFIX/` (strings: a Path
    # would fold the `//`; Path values are taken as folders).
    inbox: str = "inbox"
    data_dir: Path = Path(".ingest")
    # Spool and outcome folders; must be on the inbox's file system (atomic renames).
    # For an S3 inbox an `s3://` prefix (default: beside the inbox, see files_location).
    files_dir: str | None = None
    # S3-compatible server for an s3:// inbox (None: AWS). Credentials and region
    # come from the standard AWS variables and files, never from these settings.
    s3_endpoint_url: str | None = None

    # Watcher.
    watch_mode: Literal["events", "polling"] = "events"
    poll_interval_s: float = 1.0
    # Polling mode (no close events): a file is taken once it has not changed for
    # this long. Network shares flush in bursts; markers are the safer way.
    poll_stable_s: float = 5.0
    # `x.done` marks `x` complete, `_SUCCESS` a whole folder: "optional" takes
    # marked files at once, "required" takes nothing else.
    completion_marker: Literal["off", "optional", "required"] = "off"
    settle_ms: int = 100
    rescan_interval_s: float = 30.0
    batch_max_files: int = 200
    batch_linger_ms: int = 10
    # Claims still in the spool this long after publication are published again
    # (a broker that lost its queue, a worker killed with its batch); backs off per claim.
    requeue_after_s: float = 300.0
    # Back-pressure: claiming pauses while more claims than this wait for a fate
    # (0: no limit), and while the files folder has less than min_free_mb free.
    max_queued_files: int = 20_000
    min_free_mb: int = 100

    # Worker.
    concurrency: int = Field(default_factory=lambda: os.cpu_count() or 2)
    task_time_limit_s: int = 300
    max_attempts: int = 3
    parse_time_limit_s: float = 60.0  # per file; 0 disables (the task time limit remains)
    db_pool_size: int = 1  # connections per worker process: a batch uses one

    # Input rules.
    max_file_bytes: int = 50 * 1024 * 1024
    # A file costs about 25 times its text in memory while it is examined.
    max_decompressed_bytes: int = 64 * 1024 * 1024
    min_body_chars: int = 20
    allow_undated: bool = False
    max_records_per_file: int = 10_000  # NDJSON records per file; 0 = no cap
    max_html_tags: int = 50_000  # tags per HTML page (trafilatura: ~20 us each); 0 = no cap

    # Operations.
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    # Also write every log line (at log_level) to this file; the terminal then
    # gets only log_console_level and above. `ingest up` sets it to
    # <data_dir>/logs/ingest.log (and log_console_level to WARNING unless --verbose).
    log_file: Path | None = None
    log_console_level: str | None = None
    # Prometheus metrics on metrics_host:<port>; 0 turns them off. The worker's port
    # serves the sum over all its pool processes. Loopback by default: the
    # endpoints have no authentication.
    metrics_host: str = "127.0.0.1"
    watcher_metrics_port: int = 0
    worker_metrics_port: int = 0
    # Retention for `ingest prune`: days a file is kept in its outcome folder
    # after it arrived there; None keeps it forever.
    keep_processed_days: float | None = 30.0
    keep_duplicates_days: float | None = 14.0
    keep_rejected_days: float | None = 90.0
    keep_failed_days: float | None = None

    # Login users `ingest migrate` creates or updates, as members of the
    # ingest_writer (workers) and ingest_reader (consumers) roles.
    db_writer_login: str | None = None
    db_writer_password: SecretStr | None = None
    db_reader_login: str | None = None
    db_reader_password: SecretStr | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = config_file()
        if path.is_file():
            _check_trusted(path)
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @field_validator("inbox", "files_dir", mode="before")
    @classmethod
    def _location(cls, value: object) -> object:
        if isinstance(value, os.PathLike):
            return os.fspath(value)
        if isinstance(value, str) and is_s3_url(value):
            return s3_url(value)
        return value

    # Derived locations -------------------------------------------------

    @property
    def inbox_is_s3(self) -> bool:
        return is_s3_url(os.fspath(self.inbox))

    @property
    def inbox_dir(self) -> Path:
        """The inbox folder; ConfigurationError for an S3 inbox (see inbox_location)."""
        if self.inbox_is_s3:
            raise ConfigurationError(f"the inbox {self.inbox} is an object-store prefix, no folder")
        return Path(os.fspath(self.inbox)).expanduser().absolute()

    @property
    def work_dir(self) -> Path:
        """The files folder; ConfigurationError for an S3 inbox (see files_location)."""
        inbox = self.inbox_dir
        if self.files_dir is None:
            return (inbox / ".ingest").absolute()
        if is_s3_url(os.fspath(self.files_dir)):
            raise ConfigurationError(
                f"files_dir {self.files_dir} is an object-store prefix, but the inbox is a "
                "folder: outcomes go where the inbox is (set both to s3:// or neither)"
            )
        return Path(os.fspath(self.files_dir)).expanduser().absolute()

    @property
    def inbox_location(self) -> str:
        """The inbox as INGEST_INBOX takes it: an absolute folder or an s3:// prefix."""
        return os.fspath(self.inbox) if self.inbox_is_s3 else str(self.inbox_dir)

    @property
    def files_location(self) -> str:
        """Spool and outcomes as INGEST_FILES_DIR takes it: a folder or an s3:// prefix.

        An S3 inbox's default is the sibling prefix `<prefix>.ingest/` in the same
        bucket (`s3://b/in/` keeps its outcomes under `s3://b/in.ingest/`): never under
        the inbox prefix, so listing the inbox never pages through outcomes.
        """
        if not self.inbox_is_s3:
            return str(self.work_dir)
        if self.files_dir is not None:
            files = os.fspath(self.files_dir)
            if not is_s3_url(files):
                raise ConfigurationError(
                    f"files_dir {files} is a folder, but the inbox is an object-store prefix: "
                    "workers share no disk, so files_dir must be an s3:// prefix too"
                )
            inbox = os.fspath(self.inbox)
            if files.startswith(inbox) or inbox.startswith(files):
                raise ConfigurationError(
                    f"files_dir {files} and the inbox {inbox} overlap: outcomes under the "
                    "inbox prefix would be taken again (and listed on every look)"
                )
            return files
        inbox = os.fspath(self.inbox)
        if inbox.count("/") < 4:  # s3://bucket/ : the whole bucket
            raise ConfigurationError(
                f"the inbox {inbox} is a whole bucket: set files_dir to an s3:// prefix in "
                "another bucket (outcomes must not be under the inbox prefix)"
            )
        return inbox.rstrip("/") + ".ingest/"

    @property
    def spool_dir(self) -> Path:
        return self.work_dir / SPOOL_FOLDER

    @property
    def state_dir(self) -> Path:
        return self.data_dir.expanduser().absolute()

    def require_database_url(self) -> str:
        if not self.database_url:
            raise ConfigurationError(
                "database_url is not set (INGEST_DATABASE_URL), and no `ingest up` is running "
                f"on {self.state_dir}: start `ingest up` in this folder, or set the URL"
            )
        return self.database_url

    def require_broker_url(self) -> str:
        if not self.broker_url:
            raise ConfigurationError(
                "broker_url is not set (INGEST_BROKER_URL), and no `ingest up` is running "
                f"on {self.state_dir}: start `ingest up` in this folder, or set the URL"
            )
        return self.broker_url

    def parse_options(self) -> ParseOptions:
        return ParseOptions(
            max_file_bytes=self.max_file_bytes,
            max_decompressed_bytes=self.max_decompressed_bytes,
            min_body_chars=self.min_body_chars,
            allow_undated=self.allow_undated,
            max_records_per_file=self.max_records_per_file,
            max_html_tags=self.max_html_tags,
        )


def load() -> Settings:
    return Settings()


_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def is_s3_url(value: str) -> bool:
    return value[:5].lower() == "s3://"


def s3_url(value: str) -> str:
    """`s3://BUCKET/PREFIX/` in its one spelling: a prefix always ends with `/`."""
    bucket, _, prefix = value[5:].partition("/")
    if not _BUCKET.fullmatch(bucket):
        raise ValueError(f"not an S3 bucket name: {bucket!r:.80} (in {value!r:.120})")
    parts = prefix.split("/")
    if parts and parts[-1] == "":
        parts.pop()
    if any(p in ("", ".", "..") for p in parts) or any(ord(c) < 32 for c in prefix):
        raise ValueError(f"not an S3 prefix of plain components: {value!r:.120}")
    return f"s3://{bucket}/" + "".join(p + "/" for p in parts)
