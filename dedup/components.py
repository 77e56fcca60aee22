"""Connected components by alternating large-star / small-star (Kiveris et al., SoCC 2014).

Why this algorithm: every step is "group the edges by node, emit new edges",
so each round is two ``GroupByKey`` steps and nothing else (a step emits its
new edges in both directions, keyed for the next step); no worker ever holds
more than one node's neighbours. A step works on a node's *distinct*
neighbours and emits at most one record per distinct edge it sees, so
duplicate edges (from the input, or the same edge emitted by two nodes) never
multiply: a step's records are at most twice the distinct edges before it, and
no ``Distinct`` shuffle is needed, in the input or between rounds. It
converges in O(log^2 n) rounds on any graph (a 10,000-node path included) and
each step keeps the components unchanged.

Beam has no loops, so :class:`ConnectedComponents` unrolls ``max_rounds``
rounds and then checks that the edges form stars (every node is either a root
that is nobody's child or a child of exactly one root). The labels pass
through that check: if the graph has not converged the pipeline raises; it
never returns a wrong partition. Extra rounds after convergence are no-ops on
small data (the edges are then one per non-root node).

Rounds to star form (``components_in_memory``'s steps), worst cases for this
algorithm: a path whose ids are in path order needs 14 / 17 / 20 rounds at
10^4 / 10^5 / 10^6 nodes; a path in random id order (ids are content hashes,
so near-duplicate chains look like this) 11 / 13 / 16. ``DEFAULT_ROUNDS`` = 20
covers both up to a million-document chain; each extra round costs two
shuffles of the edge set (one edge per clustered document once converged).

Edges are ``(smaller, larger)`` id pairs; a node's component label is the
smallest id of its component. The same per-node functions drive the pure
in-memory core (``components_in_memory``, for tests and small inputs).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Iterator

import apache_beam as beam

Edge = tuple[Hashable, Hashable]
DEFAULT_ROUNDS = 20


class NotConvergedError(RuntimeError):
    """The unrolled rounds did not reach star form: raise ``max_rounds``."""


def normalized(a: Hashable, b: Hashable) -> Edge:
    return (a, b) if a < b else (b, a)


def large_star_node(node: Hashable, neighbors: Iterable[Hashable]) -> Iterator[Edge]:
    """Link every larger neighbour of ``node`` to the smallest of its neighbourhood (itself included)."""
    smallest = min(neighbors, default=node)
    smallest = min(smallest, node)
    for other in neighbors:
        if other > node:
            yield (smallest, other)


def small_star_node(node: Hashable, neighbors: Iterable[Hashable]) -> Iterator[Edge]:
    """Link ``node`` and its smaller neighbours to the smallest of them."""
    smallest = node
    for other in neighbors:
        if other < smallest:
            smallest = other
    if smallest == node:
        return
    for other in neighbors:
        if smallest < other < node:
            yield (smallest, other)
    yield (smallest, node)


def both_directions(edge: Edge) -> Iterator[tuple[Hashable, Hashable]]:
    a, b = edge
    if a != b:
        yield a, b
        yield b, a


def _apply_in_memory(edges: Iterable[Edge], step) -> set[Edge]:
    adjacency: dict[Hashable, list[Hashable]] = defaultdict(list)
    for edge in edges:
        for node, other in both_directions(edge):
            adjacency[node].append(other)
    return {edge for node, neighbors in adjacency.items() for edge in step(node, neighbors)}


def star_form_labels(edges: Iterable[Edge]) -> dict[Hashable, Hashable] | None:
    """Node -> root when ``edges`` (normalised) form stars rooted at their smallest node, else None."""
    parents: dict[Hashable, set[Hashable]] = defaultdict(set)
    is_parent: set[Hashable] = set()
    for parent, child in edges:
        parents[child].add(parent)
        is_parent.add(parent)
    if any(len(ps) > 1 for ps in parents.values()) or is_parent & parents.keys():
        return None
    labels = {node: node for node in is_parent}
    labels.update({child: next(iter(ps)) for child, ps in parents.items()})
    return labels


def components_in_memory(edges: Iterable[Edge], max_rounds: int = 64) -> tuple[dict[Hashable, Hashable], int]:
    """(node -> smallest id of its component, rounds used) with the same steps as the Beam transform."""
    current = {normalized(a, b) for a, b in edges if a != b}
    for rounds in range(1, max_rounds + 1):
        after = _apply_in_memory(_apply_in_memory(current, large_star_node), small_star_node)
        if after == current:
            return star_form_labels(current) or {}, rounds
        current = after
    labels = star_form_labels(current)
    if labels is None:
        raise NotConvergedError(f"connected components not in star form after {max_rounds} rounds")
    return labels, max_rounds


# ----------------------------------------------------------------------------- Beam


class _NodeState(beam.CombineFn):
    """Per node, over its star-form claims: (is a parent, smallest parent, largest parent, parent count)."""

    def create_accumulator(self):
        return (False, None, None)

    def add_input(self, acc, claim):
        is_parent, low, high = acc
        role, parent = claim
        if role == "parent":
            return (True, low, high)
        return (
            is_parent,
            parent if low is None or parent < low else low,
            parent if high is None or parent > high else high,
        )

    def merge_accumulators(self, accumulators):
        is_parent, low, high = False, None, None
        for p, lo, hi in accumulators:
            is_parent = is_parent or p
            if lo is not None:
                low = lo if low is None or lo < low else low
                high = hi if high is None or hi > high else high
        return (is_parent, low, high)

    def extract_output(self, acc):
        return acc


def _step_adjacency(
    grouped: tuple[Hashable, Iterable[Hashable]], step
) -> Iterator[tuple[Hashable, Hashable]]:
    """One node's star step on its distinct neighbours; the new edges in both directions, keyed for the
    next step's grouping (so a round is two ``GroupByKey`` steps and nothing else)."""
    node, neighbors = grouped
    for edge in step(node, set(neighbors)):
        yield from both_directions(edge)


def _star_claims(adjacent: tuple[Hashable, Hashable]) -> Iterator[tuple[Hashable, tuple[str, Hashable]]]:
    """Star-form claims from one direction of an edge (each edge comes in both; the smaller end is the parent)."""
    node, other = adjacent
    if other < node:
        yield node, ("child", other)
    else:
        yield node, ("parent", None)


def _violation(state: tuple[Hashable, tuple]) -> int:
    _, (is_parent, low, high) = state
    return int(low is not None and (is_parent or low != high))


def _label(state: tuple[Hashable, tuple]) -> tuple[Hashable, Hashable]:
    node, (_, low, _) = state
    return node, (node if low is None else low)


def _checked(label: tuple[Hashable, Hashable], violations: int, max_rounds: int) -> tuple[Hashable, Hashable]:
    if violations:
        raise NotConvergedError(
            f"connected components not in star form after {max_rounds} rounds ({violations} nodes off): "
            "raise near_dedup.max_rounds"
        )
    return label


class ConnectedComponents(beam.PTransform):
    """Edges ``(a, b)`` -> ``(node, smallest id of its component)`` for every node of an edge."""

    def __init__(self, max_rounds: int = DEFAULT_ROUNDS, label: str | None = None):
        super().__init__(label)
        self._max_rounds = max_rounds

    def expand(self, edges: beam.PCollection) -> beam.PCollection:
        current = edges | "Adjacency0" >> beam.FlatMap(both_directions)
        for r in range(1, self._max_rounds + 1):
            for name, step in (("Large", large_star_node), ("Small", small_star_node)):
                current = (
                    current
                    | f"{name}Group{r}" >> beam.GroupByKey()
                    | f"{name}Star{r}" >> beam.FlatMap(_step_adjacency, step)
                )
        states = (
            current | "Claims" >> beam.FlatMap(_star_claims) | "NodeState" >> beam.CombinePerKey(_NodeState())
        )
        violations = (
            states | "Violations" >> beam.Map(_violation) | "CountViolations" >> beam.CombineGlobally(sum)
        )
        return (
            states
            | "Label" >> beam.Map(_label)
            | "CheckConverged"
            >> beam.Map(_checked, violations=beam.pvalue.AsSingleton(violations), max_rounds=self._max_rounds)
        )
