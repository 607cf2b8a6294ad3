"""`ingest watch`: the inbox watcher as a process of its own (a folder or an S3 prefix)."""

from __future__ import annotations

import logging
import threading

from worker import metrics
from worker.broker.depth import queue_depth
from worker.broker.publish import celery_publisher
from worker.logs import mark_ready
from worker.settings import Settings
from worker.sources import prepare
from worker.watcher.folder import FolderWatcher
from worker.watcher.s3 import S3Watcher

log = logging.getLogger(__name__)


def run_watch(settings: Settings, stop: threading.Event) -> int:
    broker_url = settings.require_broker_url()
    prepare(settings)
    watcher: FolderWatcher | S3Watcher
    if settings.inbox_is_s3:
        watcher = S3Watcher(settings, celery_publisher(settings))
        how = f"listing every {settings.poll_interval_s}s; outcomes in {settings.files_location}"
    else:
        watcher = FolderWatcher(settings, celery_publisher(settings))
        how = f"{settings.watch_mode} mode"
    metrics.serve_watcher(settings, lambda: queue_depth(broker_url).pair())
    log.info("watching %s (%s)", settings.inbox_location, how)
    threading.Thread(target=_report_ready, args=(watcher.ready,), daemon=True).start()
    watcher.run(stop)
    return 0


def _report_ready(ready: threading.Event) -> None:
    """Tell a supervising `ingest up` that the watcher took its first look at the inbox."""
    ready.wait()
    mark_ready()
