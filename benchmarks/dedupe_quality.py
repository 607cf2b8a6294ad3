"""Near-duplicate detection quality against ground truth, on the generated or the BBC corpus.

Each article is fingerprinted as ``title + "\\n\\n" + body`` (what its document
body is once the corpus is rewritten into the reference format). A pair is a
reference positive when its exact Jaccard similarity of word shingles is at
least the threshold. On the generated corpus (the default) the reference is
the generator's ground truth (its exact, near and partial copies and rewrites,
each with its exact Jaccard); on a folder (``--corpus DIR``, such as the BBC
corpus) it is brute force: the exact Jaccard of every pair of articles (pairs
sharing no shingle have similarity 0; the others are found through an inverted
index shingle -> articles). Brute force runs on the generated corpus too, as a
check that the truth misses no similar pair.

A pair is predicted when it is an LSH candidate (the two share a band key)
and its estimated similarity (fraction of equal MinHash slots) is at least
the threshold: exactly the check the pipeline makes against the database.

Run from the repository root::

    python -m benchmarks.dedupe_quality [--corpus DIR] [--num-perm 128 --bands 32 --rows 4]
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from itertools import combinations
from pathlib import Path
from typing import Any

from benchmarks.corpus import add_corpus_option, describe, generated, load_bbc
from benchmarks.generated import Corpus
from worker.dedupe.minhash import (
    Fingerprint,
    MinHashParams,
    fingerprint_normalised,
    shingles,
    similarity,
)
from worker.dedupe.neardup import VERIFY_MARGIN
from worker.dedupe.normalise import normalise

Pair = tuple[int, int]

#: Seeds of the robustness sweep (the MinHash estimate depends on the seed).
SWEEP_SEEDS: tuple[int, ...] = (42, 1, 2, 3, 4, 5, 6, 7, 8, 9)
_SWEEP_KEYS = (
    "params",
    "precision",
    "recall",
    "false_positives",
    "false_negatives",
    "lsh_candidate_recall",
)


def _pairs_of_groups(groups: Iterable[list[int]]) -> set[Pair]:
    return {pair for members in groups for pair in combinations(sorted(members), 2)}


def exact_jaccard_pairs(shingle_sets: Sequence[frozenset[str]]) -> dict[Pair, float]:
    """Exact Jaccard of every pair that shares at least one shingle."""
    postings: dict[str, list[int]] = defaultdict(list)
    for doc, shingle_set in enumerate(shingle_sets):
        for shingle in shingle_set:
            postings[shingle].append(doc)
    shared: Counter[Pair] = Counter()
    for docs in postings.values():
        if len(docs) > 1:
            shared.update(combinations(docs, 2))  # docs ascend: pairs are (low, high)
    return {
        (a, b): inter / (len(shingle_sets[a]) + len(shingle_sets[b]) - inter)
        for (a, b), inter in shared.items()
    }


def lsh_candidates(fingerprints: Sequence[Fingerprint]) -> set[Pair]:
    """Pairs sharing at least one band key (what the bigint index returns)."""
    buckets: dict[int, list[int]] = defaultdict(list)
    for doc, fp in enumerate(fingerprints):
        for key in set(fp.band_keys):
            buckets[key].append(doc)
    return _pairs_of_groups(docs for docs in buckets.values() if len(docs) > 1)


def _ratio(num: int, den: int) -> float:
    return num / den if den else 1.0


def evaluate(
    normalised: Sequence[str],
    shingle_sets: Sequence[frozenset[str]],
    truth: dict[Pair, float],
    params: MinHashParams,
) -> dict[str, Any]:
    """Fingerprint every text with ``params`` and score the predictions against ``truth``."""
    started = time.perf_counter()
    fps = [fingerprint_normalised(text, params) for text in normalised]
    fingerprint_s = time.perf_counter() - started

    def exact(pair: Pair) -> float:  # of any pair, in the truth or not
        a, b = shingle_sets[pair[0]], shingle_sets[pair[1]]
        return len(a & b) / len(a | b)

    candidates = lsh_candidates(fps)
    estimated = {
        pair: similarity(fps[pair[0]].signature, fps[pair[1]].signature) for pair in candidates
    }
    # The workers' rule (worker.dedupe.neardup.assign): an estimate within the
    # margin of the threshold is replaced by the exact similarity.
    decided = {
        pair: exact(pair) if abs(est - params.threshold) < VERIFY_MARGIN else est
        for pair, est in estimated.items()
    }
    predicted = {pair for pair, score in decided.items() if score >= params.threshold}
    reference = {pair for pair, jac in truth.items() if jac >= params.threshold}

    by_key: dict[str, list[int]] = defaultdict(list)
    for doc, fp in enumerate(fps):
        by_key[fp.content_sha256].append(doc)
    key_pairs = _pairs_of_groups(g for g in by_key.values() if len(g) > 1)

    tp = predicted & reference
    fp_pairs = predicted - reference
    fn_pairs = reference - predicted
    errors = [estimated[pair] - jac for pair in candidates if (jac := exact(pair)) >= 0.5]
    return {
        "params": params.as_dict(),
        "fingerprint_seconds": fingerprint_s,
        "reference_pairs": len(reference),
        "lsh_candidate_pairs": len(candidates),
        "lsh_candidate_recall": _ratio(len(reference & candidates), len(reference)),
        "predicted_pairs": len(predicted),
        "true_positives": len(tp),
        "false_positives": len(fp_pairs),
        "false_negatives": len(fn_pairs),
        "precision": _ratio(len(tp), len(predicted)),
        "recall": _ratio(len(tp), len(reference)),
        "content_key_pairs": len(key_pairs),
        "content_key_pairs_in_reference": len(key_pairs & reference),
        "near_copy_reference_pairs": len(reference - key_pairs),
        "near_copy_predicted_pairs": len(predicted - key_pairs),
        "estimate_error_mean": statistics.fmean(errors) if errors else 0.0,
        "estimate_error_stdev": statistics.pstdev(errors) if errors else 0.0,
        "estimate_error_pairs": len(errors),
        "false_positive_detail": sorted((pair, exact(pair), estimated[pair]) for pair in fp_pairs),
        "false_negative_detail": sorted(
            (pair, truth[pair], estimated.get(pair)) for pair in fn_pairs
        ),
        "predicted": predicted,
    }


def _by_kind(made: Corpus, index: dict[str, int], predicted: set[Pair]) -> dict[str, Any]:
    """Kind of pair the generator made -> (pairs, min and max exact Jaccard, predicted)."""
    kinds = {}
    for kind in ("exact", "near", "partial", "rewrite"):
        pairs = {(index[a], index[b]): j for (a, b), j in made.of_kind(kind).items()}
        found = len(pairs.keys() & predicted)
        values = pairs.values()
        kinds[kind] = (len(pairs), min(values), max(values), found)
    return kinds


def run(
    corpus: Path | None = None,
    params: MinHashParams | None = None,
    sweep_seeds: Sequence[int] = SWEEP_SEEDS,
) -> dict[str, Any]:
    """Score ``params`` on the corpus (None: the generated one), plus a seed sweep."""
    params = params or MinHashParams()
    made, articles = generated() if corpus is None else (None, load_bbc(corpus))
    normalised = [normalise(article.text) for article in articles]
    shingle_sets = [frozenset(shingles(text, params.shingle_size)) for text in normalised]

    started = time.perf_counter()
    exact = exact_jaccard_pairs(shingle_sets)
    reference_s = time.perf_counter() - started
    index = {article.name: i for i, article in enumerate(articles)}  # sorted: a < b is i < j
    truth = exact
    disagreements = 0
    if made is not None:
        truth = {(index[a], index[b]): rel.jaccard for (a, b), rel in made.pairs.items()}
        # The generator's truth must hold every similar pair brute force finds, at its value.
        disagreements = sum(1 for pair, j in exact.items() if j >= 0.3 and pair not in truth)
        disagreements += sum(1 for pair, j in truth.items() if abs(exact.get(pair, 0) - j) > 1e-9)
    byte_groups: dict[str, list[int]] = defaultdict(list)
    for doc, article in enumerate(articles):
        byte_groups[hashlib.sha256(article.raw).hexdigest()].append(doc)
    n = len(articles)
    bands = Counter(
        "1.0" if j >= 1.0 else f"{int(j * 10) / 10:.1f}-{int(j * 10 + 1) / 10:.1f}"
        for j in exact.values()
        if j >= 0.3
    )

    main = evaluate(normalised, shingle_sets, truth, params)
    kinds = _by_kind(made, index, main["predicted"]) if made is not None else {}
    sweep = [
        evaluate(normalised, shingle_sets, truth, replace(params, seed=seed))
        for seed in sweep_seeds
    ]
    names = [article.name for article in articles]
    for result in [main, *sweep]:
        del result["predicted"]
        for key in ("false_positive_detail", "false_negative_detail"):
            result[key] = [
                {"a": names[a], "b": names[b], "exact": jac, "estimated": est}
                for (a, b), jac, est in result[key]
            ]
    return {
        "corpus": describe(corpus, n),
        "truth": "brute force" if made is None else "generator",
        "truth_disagreements": disagreements,
        "kinds": kinds,
        "articles": n,
        "all_pairs": n * (n - 1) // 2,
        "pairs_sharing_a_shingle": len(exact),
        "reference_seconds": reference_s,
        "byte_identical_pairs": len(
            _pairs_of_groups(g for g in byte_groups.values() if len(g) > 1)
        ),
        "exact_jaccard_histogram": dict(sorted(bands.items())),
        "main": main,
        "sweep": [{key: r[key] for key in _SWEEP_KEYS} for r in sweep],
    }


def to_markdown(result: dict[str, Any]) -> str:
    main = result["main"]
    p = main["params"]
    truth = (
        "brute force: exact Jaccard of every pair"
        if result["truth"] == "brute force"
        else "the generator's (brute force finds "
        f"{result['truth_disagreements']} pairs it lacks or values differently)"
    )
    lines = [
        f"### Dedupe quality: {result['corpus']}, "
        f"word {p['shingle_size']}-shingles, {p['num_perm']} slots = {p['bands']} bands x "
        f"{p['rows']} rows, seed {p['seed']}, threshold {p['threshold']}, "
        f"{p['library']} {p['library_version']} (algorithm {p['algorithm_version']})",
        "",
        "| measure | value |",
        "|---|---:|",
        f"| ground truth | {truth} |",
        f"| pairs of articles | {result['all_pairs']:,} |",
        f"| pairs sharing at least one shingle (exact Jaccard computed) | "
        f"{result['pairs_sharing_a_shingle']:,} |",
        f"| byte-identical pairs (raw file sha256) | {result['byte_identical_pairs']} |",
        f"| exact-duplicate pairs by content_sha256 | {main['content_key_pairs']} |",
        f"| reference positives (exact Jaccard >= {p['threshold']}) | {main['reference_pairs']} |",
        f"| ... of which near-copies (different content key) | "
        f"{main['near_copy_reference_pairs']} |",
        f"| LSH candidate pairs (share a band key) | {main['lsh_candidate_pairs']} |",
        f"| LSH candidate recall of reference positives | {main['lsh_candidate_recall']:.4f} |",
        f"| predicted (candidate and estimate >= {p['threshold']}) | {main['predicted_pairs']} |",
        f"| true / false positives, false negatives | {main['true_positives']} / "
        f"{main['false_positives']} / {main['false_negatives']} |",
        f"| **precision** | **{main['precision']:.4f}** |",
        f"| **recall** | **{main['recall']:.4f}** |",
        f"| estimate - exact, candidates with exact >= 0.5 (n={main['estimate_error_pairs']}) | "
        f"mean {main['estimate_error_mean']:+.4f}, sd {main['estimate_error_stdev']:.4f} |",
        f"| reference time (inverted index + exact Jaccard) | "
        f"{result['reference_seconds']:.2f} s |",
        "",
        "Exact Jaccard of pairs >= 0.3 (pair counts): "
        + ", ".join(f"{k}: {v}" for k, v in result["exact_jaccard_histogram"].items()),
    ]
    for label, key in (
        ("False positives", "false_positive_detail"),
        ("False negatives", "false_negative_detail"),
    ):
        if main[key]:
            lines += ["", f"{label}:", "", "| a | b | exact | estimated |", "|---|---|---:|---:|"]
            for d in main[key]:
                est = "not a candidate" if d["estimated"] is None else f"{d['estimated']:.4f}"
                lines.append(f"| {d['a']} | {d['b']} | {d['exact']:.4f} | {est} |")
    if result["kinds"]:
        lines += [
            "",
            "Pairs the generator made, and how many were predicted:",
            "",
            "| kind | pairs | exact Jaccard | predicted |",
            "|---|---:|---|---:|",
        ]
        for kind, (pairs, low, high, found) in result["kinds"].items():
            lines.append(f"| {kind} | {pairs} | {low:.3f} - {high:.3f} | {found} |")
    sweep = result["sweep"]
    if sweep:
        precisions = [r["precision"] for r in sweep]
        recalls = [r["recall"] for r in sweep]
        lines += [
            "",
            f"Seed sweep ({len(sweep)} seeds: "
            f"{', '.join(str(r['params']['seed']) for r in sweep)}):",
            "",
            "| measure | min | median | max |",
            "|---|---:|---:|---:|",
            f"| precision | {min(precisions):.4f} | {statistics.median(precisions):.4f} | "
            f"{max(precisions):.4f} |",
            f"| recall | {min(recalls):.4f} | {statistics.median(recalls):.4f} | "
            f"{max(recalls):.4f} |",
            f"| false positives | {min(r['false_positives'] for r in sweep)} | "
            f"{statistics.median(r['false_positives'] for r in sweep)} | "
            f"{max(r['false_positives'] for r in sweep)} |",
            f"| false negatives | {min(r['false_negatives'] for r in sweep)} | "
            f"{statistics.median(r['false_negatives'] for r in sweep)} | "
            f"{max(r['false_negatives'] for r in sweep)} |",
        ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_corpus_option(parser)
    parser.add_argument("--num-perm", type=int, default=128)
    parser.add_argument("--bands", type=int, default=32)
    parser.add_argument("--rows", type=int, default=4)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--shingle-size", type=int, default=5)
    parser.add_argument("--no-sweep", action="store_true", help="skip the seed sweep")
    args = parser.parse_args(argv)
    params = MinHashParams(
        shingle_size=args.shingle_size,
        num_perm=args.num_perm,
        bands=args.bands,
        rows=args.rows,
        seed=args.seed,
        threshold=args.threshold,
    )
    result = run(args.corpus, params, () if args.no_sweep else SWEEP_SEEDS)
    print(to_markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
