"""The files we hold on disk: spool, outcome folders, sidecars; safe steps only."""
