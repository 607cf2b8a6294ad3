"""The README and config/ingest.toml document everything the code defines."""

from __future__ import annotations

from pathlib import Path

from worker.reasons import REASONS
from worker.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text("utf-8")
CONFIG = (ROOT / "config" / "ingest.toml").read_text("utf-8")


def test_every_setting_is_documented_in_readme_and_config() -> None:
    missing_readme = [f for f in Settings.model_fields if f"`{f}`" not in README]
    missing_config = [f for f in Settings.model_fields if f not in CONFIG]
    assert not missing_readme, f"settings missing from README: {missing_readme}"
    assert not missing_config, f"settings missing from config/ingest.toml: {missing_config}"


def test_every_reason_code_is_in_the_readme_table() -> None:
    missing = [code for code in REASONS if f"| `{code}` |" not in README]
    assert not missing, f"reason codes missing from README: {missing}"


def test_readme_has_the_two_commands_that_ci_runs() -> None:
    ci = (ROOT / ".ci" / "run").read_text("utf-8").strip().splitlines()[-1]
    assert ci in README, "the README's test command must be exactly what .ci/run runs"
    assert ".venv/bin/ingest up" in README
