"""Connected components of the near-duplicate edges: a union-find per bundle, merged on one worker.

Why this shape: a distributed algorithm (large-star / small-star, what we ran before) needs
O(log^2 n) rounds and Beam has no loops, so it was unrolled 20 times: 40 shuffles and 80
fused stages per near-dedup pass, whatever the data. On the 20 MB sample those empty rounds cost
4.6 of the santacoder job's 18 CPU-seconds, and every stage is a round trip to every local worker.
Here the edges go through one ``CombineGlobally``: each bundle folds its edges into a union-find
forest (Beam's combiner lifting does that before the shuffle, on the worker that made the edges),
and one worker merges the forests. That is the design of datatrove's and bigcode-dataset's
near-dedup (one union-find task over all duplicate pairs), without their all-pairs edges: an edge
set here is at most one star edge per clustered document and bucket.

Memory of the merging worker: the forest holds each clustered document once (its id and its
label, two 20-byte ids) plus the union-find's work arrays, ~100 bytes per clustered document at
the peak: ~2 GB at 20 M clustered documents (The Stack's three santacoder languages have ~50 M
files; docs/dataflow.md says which machine type to pick).

Edges are id pairs; a node's component label is the smallest id of its component, so the
labels do not depend on the runner, the bundling or the order of the edges.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator

import apache_beam as beam
import numpy as np

from dedup.minhash import compiled

Edge = tuple[Hashable, Hashable]
COMPACT_EVERY = 65_536  # pending edges a bundle buffers before folding them into its forest


def _find_roots(left: np.ndarray, right: np.ndarray, nodes: int) -> np.ndarray:
    """Union-find over dense node indices: every node's root is the smallest index of its component."""
    parent = np.arange(nodes)
    for i in range(len(left)):
        a, b = left[i], right[i]
        while parent[a] != a:  # path halving
            parent[a] = parent[parent[a]]
            a = parent[a]
        while parent[b] != b:
            parent[b] = parent[parent[b]]
            b = parent[b]
        if a < b:
            parent[b] = a
        elif b < a:
            parent[a] = b
    for node in range(nodes):  # parents are smaller than their children: one pass in index order
        parent[node] = parent[parent[node]]
    return parent


_find_roots_compiled = compiled(_find_roots)


def _as_array(values: list) -> np.ndarray:
    """Ids as a sortable numpy array: strings as ASCII bytes (20 bytes per id, not 80), so byte order
    is the strings' order; other ids (tests use ints) as numpy makes them."""
    array = np.asarray(values)
    return array.astype("S") if array.dtype.kind == "U" else array


def component_forest(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edges as two parallel arrays -> (nodes, labels): every node of an edge, sorted, with the smallest
    node of its component. The pure core of :class:`ConnectedComponents`."""
    if len(left) == 0:
        return left[:0], left[:0]
    nodes, index = np.unique(np.concatenate([left, right]), return_inverse=True)
    roots = _find_roots_compiled(index[: len(left)], index[len(left) :], len(nodes))
    return nodes, nodes[roots]


def components_in_memory(edges: Iterable[Edge]) -> dict[Hashable, Hashable]:
    """node -> smallest id of its component, for every node of an edge (tests, bench, small inputs): the
    combiner of :class:`ConnectedComponents` run over all edges in this process."""
    fn = UnionFind()
    forest = fn.create_accumulator()
    for edge in edges:
        forest = fn.add_input(forest, edge)
    return dict(_labels(fn.extract_output(forest)))


def _python(array: np.ndarray) -> list:
    return (array.astype("U") if array.dtype.kind == "S" else array).tolist()


class _Forest:
    """A bundle's accumulator: the forest of the edges folded so far (nodes, labels) plus pending edges.

    A forest is itself an edge list (node -> label) with the same components, so folding more edges
    in, or merging forests, is one more :func:`component_forest` over their concatenation.
    """

    __slots__ = ("nodes", "labels", "pending")

    def __init__(self, nodes: np.ndarray | None = None, labels: np.ndarray | None = None) -> None:
        self.nodes, self.labels = nodes, labels
        self.pending: list[Edge] = []

    def compact(self) -> _Forest:
        if self.pending:
            self.nodes, self.labels = _fold(
                [
                    self,
                    _Forest(_as_array([a for a, _ in self.pending]), _as_array([b for _, b in self.pending])),
                ]
            )
            self.pending = []
        return self


def _fold(forests: list[_Forest]) -> tuple[np.ndarray | None, np.ndarray | None]:
    grown = [forest for forest in forests if forest.nodes is not None]
    if not grown:
        return None, None
    return component_forest(
        np.concatenate([forest.nodes for forest in grown]),
        np.concatenate([forest.labels for forest in grown]),
    )


class UnionFind(beam.CombineFn):
    """Edges -> one (nodes, labels) forest; partial forests per bundle, merged by one worker."""

    def create_accumulator(self) -> _Forest:
        return _Forest()

    def add_input(self, forest: _Forest, edge: Edge) -> _Forest:
        if edge[0] != edge[1]:  # a self-loop joins nothing
            forest.pending.append(edge)
        return forest.compact() if len(forest.pending) >= COMPACT_EVERY else forest

    def merge_accumulators(self, forests: Iterable[_Forest]) -> _Forest:
        return _Forest(*_fold([forest.compact() for forest in forests]))

    def compact(self, forest: _Forest) -> _Forest:
        return forest.compact()

    def extract_output(self, forest: _Forest) -> tuple[np.ndarray, np.ndarray] | None:
        forest.compact()
        return None if forest.nodes is None else (forest.nodes, forest.labels)


def _labels(forest: tuple[np.ndarray, np.ndarray] | None) -> Iterator[tuple[Hashable, Hashable]]:
    if forest is None:
        return
    yield from zip(_python(forest[0]), _python(forest[1]), strict=True)


class ConnectedComponents(beam.PTransform):
    """Edges ``(a, b)`` -> ``(node, smallest id of its component)`` for every node of an edge.

    Without Beam's default for an empty input (no edges, no labels either way): the default costs a
    stage of its own (an impulse and a side input), ~25-50 ms of a local run's serial time.
    """

    def expand(self, edges: beam.PCollection) -> beam.PCollection:
        forest = edges | "UnionFind" >> beam.CombineGlobally(UnionFind()).without_defaults()
        return forest | "Labels" >> beam.FlatMap(_labels)
