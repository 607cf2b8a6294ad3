"""The link decision of the near-duplicate index, without a database."""

from __future__ import annotations

from worker.dedupe.minhash import Fingerprint
from worker.dedupe.neardup import Candidate, Link, assign


def print_(sha: str, signature: list[int], keys: list[int]) -> Fingerprint:
    return Fingerprint(sha, tuple(signature), keys)


# Ten-slot signatures: similarity is the fraction of equal slots.
BASE = list(range(10))


def variant(changed: int, start: int = 100) -> list[int]:
    return [start + i if i < changed else v for i, v in enumerate(BASE)]


def test_no_candidate_means_canonical() -> None:
    assert assign([(5, print_("a", BASE, [1, 2]))], [], 0.8) == [Link(5, None, None)]


def test_a_match_links_to_the_root_of_the_candidate() -> None:
    # Candidate 7 is itself a near-duplicate of 3: the new document points at 3.
    candidate = Candidate(7, [2], variant(1), root=3)
    links = assign([(9, print_("b", variant(2), [2, 40]))], [candidate], 0.8)
    assert links == [Link(9, 3, 0.9)]


def test_below_the_threshold_or_without_a_shared_key_is_no_match() -> None:
    weak = Candidate(1, [2], variant(3), root=1)  # 0.7
    unshared = Candidate(2, [99], BASE, root=2)  # identical, but no common band key
    links = assign([(9, print_("c", BASE, [2]))], [weak, unshared], 0.8)
    assert links == [Link(9, None, None)]


def test_best_similarity_wins_then_the_lower_id() -> None:
    candidates = [
        Candidate(4, [1], variant(2), root=4),  # 0.8
        Candidate(6, [1], variant(1, start=200), root=6),  # 0.9
        Candidate(5, [1], variant(1, start=300), root=5),  # 0.9, lower id
    ]
    links = assign([(9, print_("d", BASE, [1]))], candidates, 0.8)
    assert links == [Link(9, 5, 0.9)]


def test_documents_of_one_batch_link_in_the_order_given_and_chains_collapse() -> None:
    # a ~ b and b ~ c, but a !~ c: c still joins a's group through b.
    a = print_("a", BASE, [1])
    b = print_("b", variant(2), [1, 2])
    c = print_("c", variant(4), [2])
    links = assign([(10, a), (11, b), (12, c)], [], 0.75)
    assert links == [Link(10, None, None), Link(11, 10, 0.8), Link(12, 10, 0.8)]
    # The order is the index order (a rebuild replays it), not the ids': c first is the root.
    links = assign([(12, c), (11, b), (10, a)], [], 0.75)
    assert links == [Link(12, None, None), Link(11, 12, 0.8), Link(10, 12, 0.8)]


def test_near_the_threshold_the_exact_similarity_decides() -> None:
    # Both estimates are 0.8, right at the threshold: the exact similarities decide.
    first = Candidate(1, [2], variant(2), root=1)
    second = Candidate(2, [3], variant(2, start=200), root=2)
    exact = {(9, 1): 0.74, (9, 2): 0.83}
    links = assign(
        [(9, print_("e", BASE, [2, 3]))], [first, second], 0.8, lambda a, b: exact[(a, b)]
    )
    assert links == [Link(9, 2, 0.83)]


def test_far_from_the_threshold_the_estimate_stands() -> None:
    def never(_a: int, _b: int) -> float:
        raise AssertionError("no exact check needed")

    clear = Candidate(1, [2], BASE, root=1)  # estimate 1.0: far above 0.8 + margin
    links = assign([(9, print_("f", BASE, [2]))], [clear], 0.8, never)
    assert links == [Link(9, 1, 1.0)]
