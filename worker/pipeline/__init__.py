"""The Celery worker's side: one batch of claims through examine, store and finish."""
