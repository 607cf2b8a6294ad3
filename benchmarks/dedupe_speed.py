"""Throughput of the dedupe step on one core, on the generated corpus or a BBC-style folder.

The dedupe step is what the pipeline runs per document: ``normalise``,
``content_sha256``, word shingles, the rensa MinHash signature and the LSH
band keys (``worker.minhash.fingerprint``). Each repetition fingerprints every
article (``title + "\\n\\n" + body``) once; the table reports the median.

For context the same step is timed with datasketch's default ``MinHash``
(128 permutations, SHA-1 token hashes, a new object per document as its
documentation shows), and with datasketch reusing one set of permutations.
A per-stage breakdown shows where the time goes.

The process is pinned to one CPU (when the OS allows) so that "per core" is
what is measured. Run from the repository root::

    python -m benchmarks.dedupe_speed [--corpus DIR] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.corpus import add_corpus_option, describe, load
from worker.dedupe.minhash import MinHashParams, band_keys, fingerprints, shingles
from worker.dedupe.normalise import normalise, sha256_of_normalised

TARGET_DOCS_PER_SECOND = 2000.0
BATCH_SIZE = 200  # files per task, as batch_max_files


@contextmanager
def _one_cpu(pin: bool) -> Iterator[int | None]:
    """Pin this process to one CPU it may use, and restore the affinity after.

    Yields the CPU, or None when not pinning or unsupported.
    """
    if not pin or not hasattr(os, "sched_setaffinity"):
        yield None
        return
    before = os.sched_getaffinity(0)
    cpu = min(before)
    os.sched_setaffinity(0, {cpu})
    try:
        yield cpu
    finally:
        os.sched_setaffinity(0, before)


def _time(fn: Callable[[], object], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return times


def _datasketch_steps(
    texts: Sequence[str], params: MinHashParams
) -> tuple[Callable[[], object], Callable[[], object]] | None:
    try:
        from datasketch import MinHash
    except ImportError:
        return None
    k = params.shingle_size

    def step(minhash_factory: Callable[[], Any]) -> Callable[[], object]:
        def run_all() -> None:
            for text in texts:
                norm = normalise(text)
                sha256_of_normalised(norm)
                sketch = minhash_factory()
                sketch.update_batch([s.encode("utf-8") for s in shingles(norm, k)])
                band_keys(sketch.digest().tolist(), params)

        return run_all

    shared = MinHash(num_perm=params.num_perm)
    perms = shared.permutations

    def default_factory() -> Any:
        return MinHash(num_perm=params.num_perm)

    def reused_factory() -> Any:
        return MinHash(num_perm=params.num_perm, permutations=perms, scheme=shared.scheme)

    return step(default_factory), step(reused_factory)


def run(
    corpus: Path | None = None,
    repeats: int = 5,
    params: MinHashParams | None = None,
    datasketch_repeats: int = 3,
    pin: bool = True,
) -> dict[str, Any]:
    """Median documents/second of the dedupe step, and the same with datasketch."""
    with _one_cpu(pin) as cpu:
        return _run(corpus, repeats, params or MinHashParams(), datasketch_repeats, cpu)


def _run(
    corpus: Path | None,
    repeats: int,
    params: MinHashParams,
    datasketch_repeats: int,
    cpu: int | None,
) -> dict[str, Any]:
    texts = [article.text for article in load(corpus)]
    n = len(texts)
    total_bytes = sum(len(text.encode("utf-8")) for text in texts)

    batch = BATCH_SIZE

    def full_step() -> None:
        # As the pipeline does it: normalise each body, fingerprint a task's batch at once.
        for start in range(0, n, batch):
            fingerprints([normalise(text) for text in texts[start : start + batch]], params)

    full_step()  # warm up (imports, caches)
    rensa_times = _time(full_step, repeats)

    # Per-stage breakdown on precomputed inputs.
    normalised = [normalise(text) for text in texts]

    def fingerprint_batches() -> None:
        for start in range(0, n, batch):
            fingerprints(normalised[start : start + batch], params)

    def each(fn: Callable[[Any], object], inputs: Sequence[Any]) -> Callable[[], None]:
        # Results are dropped as they come, as in the real step: keeping them
        # all alive would time the allocator and the garbage collector instead.
        def loop() -> None:
            for item in inputs:
                fn(item)

        return loop

    stages: dict[str, Callable[[], object]] = {
        "normalise": each(normalise, texts),
        "sha256": each(sha256_of_normalised, normalised),
        "word hashes, shingle hashes, MinHash, band keys (batches)": fingerprint_batches,
    }
    stage_us = {
        name: statistics.median(_time(fn, repeats)) / n * 1e6 for name, fn in stages.items()
    }

    result: dict[str, Any] = {
        "documents": n,
        "corpus": describe(corpus, n),
        "mean_bytes": total_bytes / n,
        "cpu": cpu,
        "params": params.as_dict(),
        "repeats": repeats,
        "rensa_seconds": rensa_times,
        "rensa_docs_per_second": n / statistics.median(rensa_times),
        "stage_microseconds_per_doc": stage_us,
        "target_docs_per_second": TARGET_DOCS_PER_SECOND,
    }
    result["meets_target"] = result["rensa_docs_per_second"] >= TARGET_DOCS_PER_SECOND

    ds = _datasketch_steps(texts, params)
    if ds is not None and datasketch_repeats > 0:
        import datasketch

        default_step, reused_step = ds
        default_times = _time(default_step, datasketch_repeats)
        reused_times = _time(reused_step, datasketch_repeats)
        result["datasketch_version"] = getattr(datasketch, "__version__", "?")
        result["datasketch_docs_per_second"] = n / statistics.median(default_times)
        result["datasketch_reused_perms_docs_per_second"] = n / statistics.median(reused_times)
        result["speedup_vs_datasketch"] = (
            result["rensa_docs_per_second"] / result["datasketch_docs_per_second"]
        )
        result["speedup_vs_datasketch_reused_perms"] = (
            result["rensa_docs_per_second"] / result["datasketch_reused_perms_docs_per_second"]
        )
    return result


def to_markdown(result: dict[str, Any]) -> str:
    p = result["params"]
    cpu = "unpinned" if result["cpu"] is None else f"pinned to CPU {result['cpu']}"
    rensa_rate = result["rensa_docs_per_second"]
    lines = [
        f"### Dedupe step speed: {result['corpus']} "
        f"(mean {result['mean_bytes']:,.0f} bytes), one core ({cpu}), "
        f"median of {result['repeats']}",
        "",
        "| implementation | docs/s/core | us/doc | vs datasketch default |",
        "|---|---:|---:|---:|",
        f"| normalise + sha256 + shingles + {p['library']} {p['library_version']} RMinHash "
        f"({p['num_perm']}) + {p['bands']} band keys | **{rensa_rate:,.0f}** | "
        f"{1e6 / rensa_rate:,.0f} | "
        + (
            f"{result['speedup_vs_datasketch']:.1f}x |"
            if "speedup_vs_datasketch" in result
            else "n/a |"
        ),
    ]
    if "datasketch_docs_per_second" in result:
        default_rate = result["datasketch_docs_per_second"]
        reused_rate = result["datasketch_reused_perms_docs_per_second"]
        lines += [
            f"| same step, datasketch {result['datasketch_version']} MinHash(num_perm="
            f"{p['num_perm']}) per doc (default) | {default_rate:,.0f} | "
            f"{1e6 / default_rate:,.0f} | 1.0x |",
            f"| same step, datasketch, permutations reused | {reused_rate:,.0f} | "
            f"{1e6 / reused_rate:,.0f} | {reused_rate / default_rate:.1f}x |",
        ]
    lines += [
        "",
        f"Target >= {result['target_docs_per_second']:,.0f} docs/s/core: "
        + ("met" if result["meets_target"] else "**NOT met**"),
        "",
        "| stage (rensa path) | us/doc |",
        "|---|---:|",
    ]
    stage_us = result["stage_microseconds_per_doc"]
    lines += [f"| {name} | {us:.1f} |" for name, us in stage_us.items()]
    lines.append(f"| sum of stages | {sum(stage_us.values()):.1f} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_corpus_option(parser)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--datasketch-repeats", type=int, default=3, help="0 to skip")
    parser.add_argument("--no-pin", action="store_true", help="do not pin to one CPU")
    args = parser.parse_args(argv)
    result = run(
        args.corpus,
        repeats=args.repeats,
        datasketch_repeats=args.datasketch_repeats,
        pin=not args.no_pin,
    )
    print(to_markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
