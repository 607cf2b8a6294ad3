"""Prometheus metrics of the real watcher and the real prefork worker, scraped over HTTP."""

from __future__ import annotations

import json
import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support import Stack, wait_for

UNDATED = b"An article without its date line, long enough to be judged on its merits.\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
    except OSError:
        return None
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def listening_on(port: int) -> set[str]:
    """The addresses something listens on at TCP `port` (any process: /proc/net is public)."""
    return {
        conn.laddr.ip
        for conn in psutil.net_connections(kind="inet")
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port
    }


@pytest.fixture
def ports() -> dict[str, int]:
    return {"watcher": free_port(), "worker": free_port()}


@pytest.fixture
def metered(
    database_url: str, broker_url: str, tmp_path: Path, ports: dict[str, int]
) -> Iterator[Stack]:
    running = Stack(
        tmp_path,
        database_url,
        broker_url,
        INGEST_WATCHER_METRICS_PORT=str(ports["watcher"]),
        INGEST_WORKER_METRICS_PORT=str(ports["worker"]),
        INGEST_LOG_FORMAT="json",
    )
    yield running
    running.stop()


def test_watcher_and_worker_metrics_and_json_logs(
    metered: Stack, ports: dict[str, int], samples: list[Path]
) -> None:
    metered.start()
    for path in samples:
        metered.drop(path.name, path.read_bytes())
    metered.drop("copy.txt", samples[0].read_bytes())
    metered.drop("undated.txt", UNDATED)
    metered.wait_finished(5)

    def finished(fate: str) -> float:
        values = scrape(ports["worker"]) or {}
        return values.get(("ingest_files_finished_total", (("fate", fate),)), 0.0)

    wait_for(lambda: finished("stored") == 3, timeout=30, what="stored counter")
    # No authentication on these endpoints: loopback only unless metrics_host says otherwise.
    assert listening_on(ports["worker"]) == {"127.0.0.1"}
    assert listening_on(ports["watcher"]) == {"127.0.0.1"}
    worker = scrape(ports["worker"])
    assert worker is not None
    assert finished("duplicate") == 1 and finished("rejected") == 1 and finished("failed") == 0
    assert worker[("ingest_batch_duration_seconds_count", ())] >= 1
    assert worker[("ingest_batch_duration_seconds_sum", ())] > 0
    assert worker[("ingest_queue_depth", ())] == 0

    watcher = scrape(ports["watcher"])
    assert watcher is not None
    assert watcher[("ingest_files_claimed_total", ())] == 5
    assert watcher[("ingest_files_received_total", ())] >= 5
    assert watcher[("ingest_files_published_total", ())] == 5
    assert watcher[("ingest_queue_depth", ())] == 0

    # Logs: JSON lines for shippers, Celery's own included; one line per fate with the file id.
    metered.stop()
    lines = [
        json.loads(line) for line in metered.log("worker").splitlines() if line.startswith("{")
    ]
    assert any(line["logger"].startswith("celery") for line in lines)
    fates = {line["file_id"]: line["message"] for line in lines if "file_id" in line}
    assert len(fates) == 5
    rejected = [m for m in fates.values() if "undated.txt" in m]
    assert len(rejected) == 1 and "rejected (missing_date)" in rejected[0]
    assert json.loads(metered.log("watcher").splitlines()[-1])["logger"].startswith("worker")
