"""Benchmarks for inbox-ingest; run each as ``python -m benchmarks.<name>`` from the repo root."""
