"""inbox-ingest: files dropped into an inbox, parsed, deduplicated and stored in PostgreSQL."""

__version__ = "0.1.0"
