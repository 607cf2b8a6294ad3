"""A small run of the throughput benchmark: it must work end to end; timing is not judged.

Its workload comes from the generated corpus (the default): nothing outside the checkout.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support import ingest_env

ROOT = Path(__file__).resolve().parents[2]


def test_throughput_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.throughput",
            "--files",
            "300",
            "--naive-files",
            "100",
            "--latency-files",
            "10",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        env=ingest_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    figures = json.loads(out.read_text())
    ours = figures["ours"]
    assert ours["files"] == 300
    assert sum(ours["fates"].values()) == 300  # every file has a fate
    assert "failed" not in ours["fates"]
    assert ours["fates"].get("rejected", 0) > 0  # the workload's rejects were recorded
    assert 0 < ours["documents"] <= 300
    assert figures["copy"]["documents"] == ours["documents"]
    assert figures["naive"]["documents"] > 0
    assert figures["latency"]["files"] == 10
    assert "| ours / naive |" in result.stdout.replace("**", "")
    assert figures["corpus"] == "2,000 generated articles"
