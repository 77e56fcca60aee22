"""Connected components (per-bundle union-find forests, merged on one worker) against a plain union-find."""

from __future__ import annotations

import random

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.util import assert_that, equal_to

from dedup import components
from dedup.components import ConnectedComponents, UnionFind, components_in_memory


def union_find_labels(edges: list[tuple[str, str]]) -> dict[str, str]:
    """The oracle: node -> smallest node of its component."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {node: find(node) for node in parent}


def node_ids(n: int, rng: random.Random | None, prefix: str = "") -> list[str]:
    ids = [f"{prefix}{i:020x}"[-20:] if not prefix else f"{prefix}{i:08d}" for i in range(n)]
    if rng is not None:
        rng.shuffle(ids)
    return ids


def path(ids: list[str]) -> list[tuple[str, str]]:
    return list(zip(ids, ids[1:], strict=False))


def star(ids: list[str]) -> list[tuple[str, str]]:
    return [(ids[0], other) for other in ids[1:]]


def small_clusters(rng: random.Random, clusters: int, prefix: str) -> list[tuple[str, str]]:
    edges = []
    for c in range(clusters):
        members = [f"{prefix}{c:05d}-{k}" for k in range(rng.randrange(2, 6))]
        edges += [(rng.choice(members[:k]), members[k]) for k in range(1, len(members))]
    return edges


def random_graph(rng: random.Random, nodes: int, edges: int, prefix: str) -> list[tuple[str, str]]:
    ids = node_ids(nodes, rng, prefix)
    return [tuple(rng.sample(ids, 2)) for _ in range(edges)]


@pytest.mark.parametrize("seed", range(8))
def test_random_graphs_match_union_find(seed: int) -> None:
    rng = random.Random(seed)
    edges = random_graph(rng, rng.randrange(50, 400), rng.randrange(20, 400), "n")
    assert components_in_memory(edges) == union_find_labels(edges)


@pytest.mark.parametrize("shuffled", [False, True])
def test_path_of_100000_nodes(shuffled: bool) -> None:
    """The worst case of the distributed algorithm we replaced (20 rounds at 10^6): one pass here."""
    edges = path(node_ids(100_000, random.Random(1) if shuffled else None))
    labels = components_in_memory(edges)
    assert labels == union_find_labels(edges)
    assert len(labels) == 100_000 and set(labels.values()) == {min(labels)}


def test_star_of_100000_nodes() -> None:
    ids = node_ids(100_000, random.Random(2))  # shuffled: the centre is not the smallest id
    labels = components_in_memory(star(ids))
    assert len(labels) == 100_000 and set(labels.values()) == {min(ids)}


def test_many_small_clusters() -> None:
    edges = small_clusters(random.Random(3), 5000, "c")
    labels = components_in_memory(edges)
    assert labels == union_find_labels(edges) and len(set(labels.values())) == 5000


def test_self_loops_and_integer_ids() -> None:
    assert components_in_memory([("a", "a")]) == {}
    assert components_in_memory([(5, 3), (3, 9), (7, 7), (8, 1)]) == {3: 3, 5: 3, 9: 3, 1: 1, 8: 1}


def test_partial_forests_merge_in_any_grouping() -> None:
    """Combiner lifting folds each bundle's edges apart and merges the forests in any order: the labels
    must be the same as one fold of every edge, whatever the split and however often it compacts."""
    rng = random.Random(5)
    edges = path(node_ids(300, rng, "p")) + small_clusters(rng, 300, "c") + random_graph(rng, 300, 250, "r")
    rng.shuffle(edges)
    expected = union_find_labels(edges)
    fn = UnionFind()
    for parts in (1, 3, 17):
        forests = []
        for k in range(parts):
            forest = fn.create_accumulator()
            for edge in edges[k::parts]:
                forest = fn.add_input(forest, edge)
            forests.append(fn.compact(forest) if k % 2 else forest)  # some compacted, some still pending
        rng.shuffle(forests)
        merged = fn.merge_accumulators([fn.merge_accumulators(forests[:2]), *forests[2:]])
        nodes, labels = fn.extract_output(merged)
        assert nodes.dtype == np.dtype("S9")  # ids travel as ASCII bytes (1 per char), not 4-byte unicode
        assert dict(zip(nodes.astype("U").tolist(), labels.astype("U").tolist(), strict=True)) == expected


def test_bundles_compact_their_pending_edges(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bundle holds at most COMPACT_EVERY pending edges plus its forest: one node per clustered id."""
    monkeypatch.setattr(components, "COMPACT_EVERY", 50)
    edges = small_clusters(random.Random(6), 400, "c")
    fn = UnionFind()
    forest = fn.create_accumulator()
    most_pending = 0
    for edge in edges:
        forest = fn.add_input(forest, edge)
        most_pending = max(most_pending, len(forest.pending))
    nodes, labels = fn.extract_output(forest)
    assert most_pending < 50
    assert len(nodes) == len(union_find_labels(edges))
    assert dict(
        zip(nodes.astype("U").tolist(), labels.astype("U").tolist(), strict=True)
    ) == union_find_labels(edges)


def test_beam_matches_union_find_on_adversarial_graphs() -> None:
    rng = random.Random(4)
    edges = (
        path(node_ids(150, rng, "p"))
        + star(node_ids(1000, rng, "s"))
        + small_clusters(rng, 200, "c")
        + random_graph(rng, 200, 170, "r")
    )
    rng.shuffle(edges)
    expected = union_find_labels(edges)
    with beam.Pipeline(runner=FnApiRunner()) as pipeline:
        labels = pipeline | beam.Create(edges, reshuffle=False) | ConnectedComponents()
        assert_that(labels, equal_to(sorted(expected.items())))


def test_beam_without_edges_gives_no_labels() -> None:
    with beam.Pipeline(runner=FnApiRunner()) as pipeline:
        labels = pipeline | beam.Create([]) | ConnectedComponents()
        assert_that(labels, equal_to([]))
