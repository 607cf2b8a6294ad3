"""`ingest watch`: the folder watcher as a process of its own."""

from __future__ import annotations

import logging
import threading

from worker import metrics
from worker.broker.depth import queue_depth
from worker.broker.publish import celery_publisher
from worker.files.spool import prepare_folders
from worker.logs import mark_ready
from worker.settings import Settings
from worker.watcher.folder import FolderWatcher

log = logging.getLogger(__name__)


def run_watch(settings: Settings, stop: threading.Event) -> int:
    broker_url = settings.require_broker_url()
    prepare_folders(settings)
    watcher = FolderWatcher(settings, celery_publisher(settings))
    metrics.serve_watcher(settings, lambda: queue_depth(broker_url).pair())
    log.info("watching %s (%s mode)", settings.inbox_dir, settings.watch_mode)
    threading.Thread(target=_report_ready, args=(watcher.ready,), daemon=True).start()
    watcher.run(stop)
    return 0


def _report_ready(ready: threading.Event) -> None:
    """Tell a supervising `ingest up` that the watcher took its first look at the inbox."""
    ready.wait()
    mark_ready()
