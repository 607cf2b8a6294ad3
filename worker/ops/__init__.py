"""Operator commands: status, tail, retry, reprocess, rejected, prune, reindex."""
