"""The Dockerfile and .dockerignore, checked without a Docker engine.

The image installs the project (its declared dependencies) and Flower only,
runs as a fixed non-root user that owns /inbox (and compose runs it so), and
its build context holds only what it installs: every COPY source exists and
is not ignored. Helpers and fixtures: tests/unit/compose_support.py.
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import shlex
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.unit import compose_support
from tests.unit.compose_support import DOCKERFILE, DOCKERIGNORE, OUR_SERVICES, ROOT

# The fixtures `env_file`, `config` and `services`: pytest collects them from a module's names.
env_file_fixture = compose_support.env_file_fixture
config_fixture = compose_support.config_fixture
services_fixture = compose_support.services_fixture


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
    for name in OUR_SERVICES:
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
        "tests/unit/test_dockerfile.py",
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
