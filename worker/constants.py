"""Names shared by the processes: queue, task, folders, files. One owner each."""

from __future__ import annotations

from typing import Final

#: The Celery queue the watcher publishes to and the workers consume.
QUEUE: Final = "ingest"
#: The one task: a batch of claims.
TASK_BATCH: Final = "ingest.batch"

#: Under files_dir: claimed files without a final fate.
SPOOL_FOLDER: Final = "spool"
#: Under files_dir: sidecars, in a namespace no dropped name can reach.
ERRORS_FOLDER: Final = "errors"
SIDECAR_SUFFIX: Final = ".error.json"

#: The embedded PostgreSQL's database for `ingest up`.
DATABASE: Final = "ingest"
