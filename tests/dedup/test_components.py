"""Connected components (large-star / small-star) against an in-memory union-find, on adversarial graphs."""

from __future__ import annotations

import random

import apache_beam as beam
import pytest
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.util import assert_that, equal_to

from dedup.components import DEFAULT_ROUNDS, ConnectedComponents, NotConvergedError, components_in_memory


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
    labels, _ = components_in_memory(edges)
    assert labels == union_find_labels(edges)


@pytest.mark.parametrize("shuffled", [False, True])
def test_path_of_10000_nodes(shuffled: bool) -> None:
    edges = path(node_ids(10_000, random.Random(1) if shuffled else None))
    labels, rounds = components_in_memory(edges)
    assert labels == union_find_labels(edges)
    assert len(set(labels.values())) == 1 and rounds <= DEFAULT_ROUNDS  # the default suffices


def test_star_of_100000_nodes() -> None:
    ids = node_ids(100_000, random.Random(2))  # shuffled: the centre is not the smallest id
    labels, rounds = components_in_memory(star(ids))
    assert len(labels) == 100_000 and set(labels.values()) == {min(ids)} and rounds <= 3


def test_many_small_clusters() -> None:
    edges = small_clusters(random.Random(3), 5000, "c")
    labels, rounds = components_in_memory(edges)
    assert labels == union_find_labels(edges) and len(set(labels.values())) == 5000 and rounds <= 5


def test_in_memory_core_raises_when_rounds_run_out() -> None:
    with pytest.raises(NotConvergedError):
        components_in_memory(path(node_ids(1000, None)), max_rounds=3)


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
    assert (
        components_in_memory(edges)[1] - 1 <= 6
    )  # rounds this graph needs (the last core round only checks)
    with beam.Pipeline(runner=FnApiRunner()) as pipeline:
        labels = pipeline | beam.Create(edges) | ConnectedComponents(max_rounds=7)
        assert_that(labels, equal_to(sorted(expected.items())))


def test_beam_fails_loudly_when_not_converged() -> None:
    with pytest.raises(Exception, match="not in star form after 2 rounds"):
        with beam.Pipeline(runner=FnApiRunner()) as pipeline:
            _ = pipeline | beam.Create(path(node_ids(200, None))) | ConnectedComponents(max_rounds=2)
