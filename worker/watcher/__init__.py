"""The watcher: notices complete files, claims them, hands them to Celery in batches."""
