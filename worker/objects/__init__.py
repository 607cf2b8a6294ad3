"""The object-store (S3) inbox: locations, the store client, listing, and the Source.

An inbox `s3://BUCKET/PREFIX/` is served like a folder inbox (same fates,
ledger, outcome layout and operator commands) by `worker.objects.source`;
`worker.watcher.s3` lists it and publishes claims. Workers read objects
straight from the store: no process needs another's disk.
"""
