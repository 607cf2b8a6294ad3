"""Two `ingest watch` on one folder inbox: a claim is a rename, so only one of them takes a file."""

from __future__ import annotations

from collections import Counter

from tests.faults.helpers import article
from tests.integration.test_metrics import free_port, scrape
from tests.support import Stack, query, wait_for

FILES = 300
CLAIMED = ("ingest_files_claimed_total", ())


def test_two_watchers_on_one_folder_claim_each_file_once(stack: Stack) -> None:
    ports = {"watcher-a": free_port(), "watcher-b": free_port()}
    shared = dict(stack.env)
    for key, port in ports.items():
        stack.env = {**shared, "INGEST_WATCHER_METRICS_PORT": str(port)}
        stack.start_process(key, "watch")
    stack.env = shared
    for port in ports.values():
        wait_for(lambda port=port: scrape(port), 20, what="the watchers' metrics")
    stack.start_process("worker", "worker")
    names = [f"burst/{i % 5}/f{i:04d}.txt" for i in range(FILES)]
    for i, name in enumerate(names):
        stack.drop(name, article(i, "two"))

    rows = stack.wait_finished(FILES, timeout=90)
    per_name = Counter(r["name"] for r in rows)
    assert sorted(per_name) == sorted(names)
    assert set(per_name.values()) == {1}, per_name.most_common(3)
    assert Counter(r["status"] for r in rows) == {"stored": FILES}
    assert query(stack.database_url, "SELECT count(*) AS n FROM documents") == [{"n": FILES}]
    wait_for(lambda: not stack.spool_files(), 15, what="an empty spool")
    processed = stack.work / "processed"
    moved = sorted(p.relative_to(processed).as_posix() for p in processed.rglob("*.txt"))
    assert moved == sorted(names)
    # Every file was claimed exactly once between the two: a rename succeeds only once.
    claimed = {k: (scrape(p) or {}).get(CLAIMED, 0.0) for k, p in ports.items()}
    assert sum(claimed.values()) == FILES, claimed
    assert "Traceback" not in stack.log("watcher-a") + stack.log("watcher-b")
