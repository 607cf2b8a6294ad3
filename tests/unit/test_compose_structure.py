"""docker-compose.yml's shape: it validates, its profiles, what it publishes, its services.

Nothing but Flower and the s3 profile's S3 gateway is published, and those on
loopback only; metrics are off and never published; the services wait for what
they need, scale, share one image, and run only `ingest` subcommands that exist.
Helpers and fixtures: tests/unit/compose_support.py.
"""

from __future__ import annotations

import argparse
import importlib
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.unit import compose_support
from tests.unit.compose_support import (
    ALL_SERVICES,
    METRICS_PORT_VARS,
    OUR_SERVICES,
    PROFILES,
    ROOT,
    SECRETS,
    compose_binaries,
    compose_v2_binary,
    depends_on,
    documented_override,
    environment,
    healthcheck_text,
    metrics_exposures,
    published_ports,
    render,
    run_compose,
)

# The fixtures `env_file`, `config` and `services`: pytest collects them from a module's names.
env_file_fixture = compose_support.env_file_fixture
config_fixture = compose_support.config_fixture
services_fixture = compose_support.services_fixture

# --------------------------------------------------------------------------
# (1) validation, by every Compose there is (the v2 binary at least)


def test_every_compose_validates_the_file(env_file: Path) -> None:
    binaries = compose_binaries()
    version = run_compose(binaries[0], "version", env_file=env_file)
    assert "v2." in version.stdout, version.stdout
    for binary in binaries:  # v2 first, then Debian's v1 when installed
        run_compose(binary, "config", "-q", env_file=env_file)
        for profile in PROFILES:
            run_compose(binary, "--profile", profile, "config", "-q", env_file=env_file)


def test_profile_services_only_run_with_their_profile(env_file: Path) -> None:
    v2 = compose_v2_binary()
    in_profiles = {name for names in PROFILES.values() for name in names}
    default = run_compose(v2, "config", "--services", env_file=env_file).stdout.split()
    assert sorted(default) == sorted(s for s in ALL_SERVICES if s not in in_profiles)
    for profile, names in PROFILES.items():
        with_it = run_compose(
            v2, "--profile", profile, "config", "--services", env_file=env_file
        ).stdout.split()
        assert sorted(with_it) == sorted([*default, *names]), profile


# --------------------------------------------------------------------------
# (2) what is published on the host


def test_only_flower_and_the_s3_gateway_are_published_and_only_on_loopback(
    services: dict[str, dict[str, Any]],
) -> None:
    publishing = {name for name, service in services.items() if published_ports(service)}
    assert publishing == {"flower", "seaweedfs"}, publishing
    for name, target in (("flower", 5555), ("seaweedfs", 8333)):
        ports = published_ports(services[name])
        assert [p["target"] for p in ports] == [target]
        assert all(p.get("host_ip") == "127.0.0.1" for p in ports), ports


def test_no_service_publishes_postgres(services: dict[str, dict[str, Any]]) -> None:
    assert not published_ports(services["postgres"]), "the superuser must not be published"
    for name, service in services.items():
        for port in published_ports(service):
            assert 5432 not in (port["target"], int(port.get("published") or 0)), (name, port)


def test_metrics_are_off_and_never_published(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        env = environment(service)
        on = [var for var in METRICS_PORT_VARS if env.get(var, "0") not in ("", "0")]
        assert not on, f"{name}: metrics are off by default ({on})"
        assert "INGEST_METRICS_HOST" not in env, name
    assert not metrics_exposures(services)


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
# (3) the services


def test_services(services: dict[str, dict[str, Any]]) -> None:
    assert set(ALL_SERVICES) == set(services), sorted(services)
    for profile, names in PROFILES.items():
        for name in names:
            assert services[name].get("profiles") == [profile], name
    in_profiles = {name for names in PROFILES.values() for name in names}
    for name in ALL_SERVICES:
        if name not in in_profiles:
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


def test_migrate_is_one_shot_after_postgres(services: dict[str, dict[str, Any]]) -> None:
    migrate = services["migrate"]
    assert migrate["command"] == ["ingest", "migrate"]
    assert depends_on(migrate).get("postgres") == "service_healthy"
    assert migrate.get("restart", "no") == "no"


@pytest.mark.parametrize("name", ["worker", "watcher", "worker-s3", "watcher-s3"])
def test_long_running_services_wait_for_migrations_and_redis(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    deps = depends_on(services[name])
    assert deps.get("migrate") == "service_completed_successfully", deps
    assert deps.get("redis") == "service_healthy", deps
    assert services[name]["command"][:2] == [
        "ingest",
        "worker" if name.startswith("worker") else "watch",
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
    images = {services[name].get("image") for name in OUR_SERVICES}
    assert len(images) == 1 and None not in images, images
    for name in OUR_SERVICES:
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
# (4) every `ingest <subcommand>` the compose file runs exists in the CLI


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
