"""The broker side: the Celery app's configuration, publishing batches, queue depth."""
