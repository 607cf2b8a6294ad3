"""Deduplication: the exact content key, MinHash fingerprints and the near-duplicate index."""
