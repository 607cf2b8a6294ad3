"""Prometheus metrics of the watcher and the workers.

The watcher is one process: its metrics live in the default registry, served
on `watcher_metrics_port`.

Both endpoints listen on `metrics_host`, loopback by default because they have
no authentication. A Prometheus in another container needs 0.0.0.0 there,
inside the container only (docker-compose.yml says how).

A Celery worker is a parent and prefork children, and the children do the
counting. prometheus-client's multiprocess mode fits: `ingest worker` points
PROMETHEUS_MULTIPROC_DIR at a fresh folder before Celery starts (the variable
must be set before prometheus_client is imported), every child writes its
values to memory-mapped files there, and the parent serves their sum on
`worker_metrics_port` once the pool is up. One port per worker, whatever its
concurrency and however often children are replaced (counters of children
that exited still count). A port per child would need as many scrape targets
as children and would lose counts on each replacement.

Queue depth is read from the broker at scrape time, by whichever process serves.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from worker.settings import Settings

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# -- watcher --------------------------------------------------------------------
FILES_RECEIVED = Counter(
    "ingest_files_received_total", "Files found complete in the inbox (claim attempted)"
)
FILES_CLAIMED = Counter("ingest_files_claimed_total", "Files claimed into the spool")
FILES_PUBLISHED = Counter(
    "ingest_files_published_total", "Claimed files handed to the broker in batches"
)

# -- workers --------------------------------------------------------------------
FILES_FINISHED = Counter(
    "ingest_files_finished_total",
    "Files that reached a fate (stored, duplicate, rejected, failed)",
    ["fate"],
)
BATCH_SECONDS = Histogram(
    "ingest_batch_duration_seconds",
    "Time to process one batch, from locking to the last move",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)


def file_finished(fate: str) -> None:
    FILES_FINISHED.labels(fate=fate).inc()


@contextlib.contextmanager
def batch_timer() -> Iterator[None]:
    with BATCH_SECONDS.time():
        yield


#: (batches waiting, batches taken and not acknowledged), or None if the broker is down.
Depth = Callable[[], tuple[int, int] | None]


class QueueDepth(Collector):
    """`ingest_queue_depth` and `ingest_queue_unacked`, read from the broker at scrape time."""

    def __init__(self, depth: Depth) -> None:
        self.depth = depth

    def collect(self) -> Iterable[GaugeMetricFamily]:
        found = self.depth()
        waiting = GaugeMetricFamily(
            "ingest_queue_depth", "Batches waiting in the broker queue `ingest`"
        )
        unacked = GaugeMetricFamily(
            "ingest_queue_unacked", "Batches taken by workers and not yet acknowledged"
        )
        if found is not None:
            waiting.add_metric([], found[0])
            unacked.add_metric([], found[1])
        yield waiting
        yield unacked


def serve_watcher(settings: Settings, depth: Depth) -> None:
    if not settings.watcher_metrics_port:
        return
    from prometheus_client import REGISTRY

    REGISTRY.register(QueueDepth(depth))
    start_http_server(settings.watcher_metrics_port, addr=settings.metrics_host)
    log.info(
        "watcher metrics on %s:%d/metrics", settings.metrics_host, settings.watcher_metrics_port
    )


def worker_environment(settings: Settings, env: dict[str, str]) -> dict[str, str]:
    """The environment for a Celery worker: a fresh multiprocess folder when metrics are on."""
    if settings.worker_metrics_port:
        env = {**env, MULTIPROC_ENV: tempfile.mkdtemp(prefix="ingest-metrics-")}
    return env


def serve_worker(settings: Settings, depth: Depth) -> None:
    """In the Celery parent, once the pool is up: serve the sum over every child."""
    folder = os.environ.get(MULTIPROC_ENV)
    if not settings.worker_metrics_port or not folder:
        return
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=folder)  # type: ignore[no-untyped-call]
    registry.register(QueueDepth(depth))
    start_http_server(settings.worker_metrics_port, addr=settings.metrics_host, registry=registry)
    log.info(
        "worker metrics on %s:%d/metrics (%s)",
        settings.metrics_host,
        settings.worker_metrics_port,
        folder,
    )
