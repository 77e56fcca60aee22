"""Near-deduplication as Beam transforms: MinHash -> LSH buckets -> edges -> components -> keep one.

Why this shape: every step but the connected components is keyed (by band
bucket, by document id, by component root), so no worker holds all documents
or all band keys; the components' union-find holds the clustered ids only
(``dedup.components``). :class:`NearVerdicts` sees only (id, content, stars, tag) items and
returns (id, tag, detail) removals: the batch pipeline tags each item with its
row's position and re-reads the documents (``pipeline.rejoin``), so documents
are never shuffled.

* Documents with fewer than ``min_tokens`` tokens (or fewer than ``ngram``)
  are not MinHashed: they never enter a bucket, so they are always kept,
  untouched. (Hashing them would put every near-empty file in the same
  buckets and merge them into one giant cluster, a known bug of the reference
  script.)
* Within a bucket, the smallest id is linked to every other member (a star,
  never all pairs), so a hot bucket costs edges linear in its size.
* Buckets travel in ``bucket_groups`` groups (a bucket's group is its band
  hash modulo the count): each batch of documents sends one record per group
  holding its (band, hash, id) entries, not one per document and band, and a
  group finds its shared buckets with one sort. A group holds
  1/``bucket_groups`` of all the entries (25 per document with 25 bands):
  about 1.5 M entries at 60 M documents with the default 1024.
* ``verify``: each candidate edge's true Jaccard is computed from the two
  documents' shingle sets (joined by id) and edges under the threshold are
  dropped before the components (what stack-v1 did against false positives).
  Given ``reread`` (a transform that derives a shingle set again from the
  document's tag: the batch pipeline re-reads its unit), only the candidates'
  sets travel, not every document's: on the 200 MB sample 91 of 11,408
  documents are candidates, and the 39 MB of shingle sets crossed the shuffle
  twice.
* Per component the document with the most stars (null = 0) is kept, ties by
  the smallest id; every other member is removed with ``duplicate_of`` and
  ``cluster_size``.
* ``cluster_check``: components chain (A~B~C), so a member whose Jaccard to
  the kept document is under the threshold is kept instead of removed.
  With ``representatives`` such a member is compared, in keep-rule order,
  with the component's earlier representatives (the kept document first) and
  removed as a duplicate of the first one it is similar to, or becomes a
  representative itself: every removal is similar to its ``duplicate_of``
  and a component's survivors are pairwise under the threshold (one
  ``GroupByKey`` of a component's shingle sets; ``max_cluster_size`` bounds it).
* ``max_cluster_size``: a component larger than this fails the job (or, with
  ``on_large_cluster: warn``, logs a warning and counts ``large_clusters``).
"""

from __future__ import annotations

import logging
from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass, field

import apache_beam as beam
import numpy as np

from dedup.components import ConnectedComponents
from dedup.exact import SmallestAndCount, keep_rank
from dedup.lsh import band_hashes, bucket_edges, optimal_bands
from dedup.minhash import (
    MinHashParams,
    distinct_keys,
    jaccard,
    signature_keys,
    signatures_of_keys,
    token_hashes,
)
from dedup.pairs import SHINGLES, STARS, PairJaccard, set_keys, shingles_of

BANDS = "bands"  # (bucket group, (bands, hashes, ids))
METRICS_NAMESPACE = "near_dedup"
LARGE_CLUSTER_MODES = ("fail", "warn")
log = logging.getLogger("stackcurate.near_dedup")


class LargeClusterError(RuntimeError):
    """A near-duplicate component grew past ``max_cluster_size``."""


@dataclass(frozen=True)
class NearDedupParams:
    """Everything the transform's output is a function of (besides the documents)."""

    ngram: int = 5
    num_perm: int = 256
    seed: int = 42
    threshold: float = 0.7
    bands: int | None = None
    rows: int | None = None
    verify: bool = False
    cluster_check: bool = False
    representatives: bool = False
    min_tokens: int = 10
    bucket_groups: int = 1024  # how the band buckets are shuffled: speed and memory only, never the output
    max_cluster_size: int | None = None
    on_large_cluster: str = "fail"
    minhash: MinHashParams = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "minhash", MinHashParams(self.ngram, self.num_perm, self.seed))
        if (self.bands is None) != (self.rows is None):
            raise ValueError(
                "set both bands and rows, or neither (then they are optimised for the threshold)"
            )
        if self.bands is None:
            bands, rows = optimal_bands(self.threshold, self.num_perm)
            object.__setattr__(self, "bands", bands)
            object.__setattr__(self, "rows", rows)
        if self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands x rows = {self.bands * self.rows} exceeds num_perm = {self.num_perm}")
        if self.representatives and not self.cluster_check:
            raise ValueError("representatives needs cluster_check")
        if self.on_large_cluster not in LARGE_CLUSTER_MODES:
            raise ValueError(
                f"on_large_cluster must be one of {LARGE_CLUSTER_MODES}, got {self.on_large_cluster!r}"
            )


# (id, content: a str, its UTF-8 bytes or None, stars, tag): what the sketch needs of a document
Item = tuple[str, object, int, object]


def shingle_keys_of(content: object, p: NearDedupParams) -> np.ndarray:
    """A document's shingle keys as the signature hashes them (empty: too short to sketch)."""
    hashes = token_hashes(content, p.seed) if content is not None else np.empty(0, np.uint64)
    return signature_keys(hashes, p.minhash) if len(hashes) >= p.min_tokens else hashes[:0]


def shingle_set(keys: np.ndarray, p: NearDedupParams) -> bytes:
    """The distinct shingle keys that verification compares, as they travel."""
    return (keys if p.ngram == 1 else distinct_keys(keys)).tobytes()


def sketch(
    items: list[Item],
    p: NearDedupParams,
    namespace: str = METRICS_NAMESPACE,
    shingles_for: Container[str] | None = None,
) -> Iterator:
    """A list of items -> its bucket entries by bucket group (:func:`bucket_group_records`); tagged:
    shingle sets (``SHINGLES``) and (id, (stars, tag)) (``STARS``). The stage's main cost: the pipeline's
    framework runs it as a timed step (``pipeline.judging.Timed``).

    ``tag`` is carried to the verdicts untouched (the batch pipeline: the document's position in its
    input batch). ``shingles_for``: only these ids send their shingle sets (the others' are derived
    again from their tags, :class:`NearVerdicts`' ``reread``); None: every id.
    """
    ids, key_sets = [], []
    for doc_id, content, stars, tag in items:
        keys = shingle_keys_of(content, p)
        if len(keys) == 0:
            beam.metrics.Metrics.counter(namespace, "docs_short_kept").inc()
            continue
        ids.append(doc_id)
        key_sets.append(keys)
        yield beam.pvalue.TaggedOutput(STARS, (doc_id, (stars, tag)))
        if (p.verify or p.cluster_check) and (shingles_for is None or doc_id in shingles_for):
            yield beam.pvalue.TaggedOutput(SHINGLES, (doc_id, shingle_set(keys, p)))
    if not ids:
        return
    beam.metrics.Metrics.counter(namespace, "docs_sketched").inc(len(ids))
    yield from bucket_group_records(
        ids, band_hashes(signatures_of_keys(key_sets, p.minhash), p.bands, p.rows), p.bucket_groups
    )


def bucket_group_records(
    ids: list[str], hashes: np.ndarray, groups: int
) -> Iterator[tuple[int, tuple[bytes, bytes, list[str]]]]:
    """(group, (bands, hashes, ids)) per bucket group that these documents' buckets fall in: a bucket
    ``(band, hash)`` belongs to group ``hash % groups``, so each bucket's members meet in one group."""
    documents, bands = hashes.shape
    flat = hashes.ravel()
    band = np.tile(np.arange(bands, dtype=np.uint16), documents)
    doc = np.repeat(np.arange(documents), bands)
    group = flat % np.uint64(groups)
    order = np.argsort(group, kind="stable")
    cuts = np.flatnonzero(np.diff(group[order])) + 1
    for part in np.split(order, cuts):
        yield (
            int(group[part[0]]),
            (
                band[part].astype("<u2").tobytes(),
                flat[part].astype("<u8").tobytes(),
                [ids[i] for i in doc[part].tolist()],
            ),
        )


def bucket_group_edges(
    grouped: tuple[int, Iterable[tuple[bytes, bytes, list[str]]]],
) -> Iterator[tuple[str, str]]:
    """A bucket group's entries -> the star edges of its shared buckets."""
    records = list(grouped[1])
    bands = np.concatenate([np.frombuffer(r[0], dtype="<u2") for r in records])
    hashes = np.concatenate([np.frombuffer(r[1], dtype="<u8") for r in records])
    return bucket_edges(bands, hashes, [doc_id for r in records for doc_id in r[2]])


def _removals(
    grouped: tuple[str, Iterable[tuple[str, int, object]]],
    limit: int | None,
    mode: str,
    namespace: str = METRICS_NAMESPACE,
) -> Iterator[tuple[str, object, dict]]:
    """(root, [(id, stars, tag)]) -> (id, tag, detail) per member but the kept one (the keep rule's best);
    a component larger than ``limit`` fails the job or warns first."""
    members = list(grouped[1])
    rank = min(keep_rank(stars, member) for member, stars, _ in members)
    kept_id = rank[1]
    if limit is not None:
        _guard_cluster((grouped[0], (rank, len(members))), limit, mode, namespace)
    for member, _, tag in members:
        if member != kept_id:
            yield member, tag, {"duplicate_of": kept_id, "cluster_size": len(members)}


class NearVerdicts(beam.PTransform):
    """The outputs of :func:`sketch` ({BANDS, SHINGLES, STARS}) -> (id, tag, detail) for every document to remove.

    ``detail`` holds ``duplicate_of``, ``cluster_size``, ``threshold``,
    ``ngram`` and, with ``cluster_check``, ``jaccard_to_kept``. Only ids, band
    keys, ranks (and with ``verify`` / ``cluster_check`` shingle sets) are
    shuffled, never documents.
    """

    def __init__(
        self,
        params: NearDedupParams,
        label: str | None = None,
        namespace: str = METRICS_NAMESPACE,
        reread: beam.PTransform | None = None,
    ):
        super().__init__(label)
        if reread is not None and (params.cluster_check or not params.verify):
            raise ValueError("near_dedup: reread serves verify only (cluster_check needs every shingle set)")
        self._params = params
        self._namespace = namespace
        self._reread = reread

    def expand(self, sketched: dict[str, beam.PCollection]) -> beam.PCollection:
        p, namespace = self._params, self._namespace
        edges = (
            sketched[BANDS]
            | "GroupBuckets" >> beam.GroupByKey()
            | "BucketEdges" >> beam.FlatMap(bucket_group_edges)
        )
        if p.verify:  # each pair verified once; the components need no distinct edges (one stage less)
            edges = (
                edges
                | "DistinctEdges" >> beam.Distinct()
                | "EdgePayload" >> beam.Map(lambda e: (e[0], e[1], None))
                | "VerifyJaccard"
                >> PairJaccard(sketched[SHINGLES], stars=sketched[STARS], reread=self._reread)
                | "KeepSimilar" >> beam.Filter(lambda t: t[3] >= p.threshold)
                | "VerifiedEdge" >> beam.Map(lambda t: (t[0], t[1]))
            )
        labels = edges | "Components" >> ConnectedComponents()
        members = (
            {"root": labels, STARS: sketched[STARS]}
            | "JoinStars" >> beam.CoGroupByKey()
            | "ByRoot" >> beam.FlatMap(_member_by_root)
        )
        if p.representatives:
            if p.max_cluster_size is not None:
                _ = (
                    members
                    | "MemberRank" >> beam.Map(lambda t: (t[0], keep_rank(t[1][1], t[1][0])))
                    | "BestMember" >> beam.CombinePerKey(SmallestAndCount())
                    | "ClusterGuard"
                    >> beam.Map(_guard_cluster, p.max_cluster_size, p.on_large_cluster, namespace)
                )
            removals = (
                {
                    "member": members | "ById" >> beam.Map(lambda t: (t[1][0], (t[0], t[1][1], t[1][2]))),
                    SHINGLES: sketched[SHINGLES],
                }
                | "JoinShingles" >> beam.CoGroupByKey()
                | "MemberKeys" >> beam.FlatMap(_member_keys)
                | "GroupCluster" >> beam.GroupByKey()
                | "Representatives" >> beam.FlatMap(_representative_removals, threshold=p.threshold)
            )
        else:
            removals = (
                members
                | "ByCluster" >> beam.GroupByKey()
                | "Removals"
                >> beam.FlatMap(_removals, p.max_cluster_size, p.on_large_cluster, namespace=namespace)
            )
            if p.cluster_check:
                removals = (
                    removals
                    | "ByKept" >> beam.Map(lambda t: (t[2]["duplicate_of"], t[0], (t[1], t[2])))
                    | "KeptJaccard" >> PairJaccard(sketched[SHINGLES])
                    | "ClusterCheck"
                    >> beam.FlatMap(_cluster_checked, threshold=p.threshold, namespace=namespace)
                )
        return removals | "Detail" >> beam.Map(
            lambda t: (t[0], t[1], {**t[2], "threshold": p.threshold, "ngram": p.ngram})
        )


def _member_by_root(grouped: tuple[str, dict]) -> Iterable[tuple[str, tuple[str, int, object]]]:
    """(id, {root: [root], stars: [(stars, tag)]}) -> (root, (id, stars, tag)) for clustered documents."""
    node, joined = grouped
    roots = list(joined["root"])
    if not roots:
        return []
    found = list(joined[STARS])
    if len(found) != 1:
        raise RuntimeError(f"near_dedup: {len(found)} documents with id {node}; ids must be unique")
    stars, tag = found[0]
    return [(roots[0], (node, stars, tag))]


def _cluster_checked(
    pair: tuple[str, str, tuple, float], threshold: float, namespace: str = METRICS_NAMESPACE
) -> Iterator[tuple[str, object, dict]]:
    """Keep the removal only when the member is itself similar to the kept document."""
    _, member, (tag, detail), similarity = pair
    if similarity >= threshold:
        yield member, tag, {**detail, "jaccard_to_kept": round(similarity, 4)}
    else:
        beam.metrics.Metrics.counter(namespace, "spared_by_cluster_check").inc()


def _member_keys(grouped: tuple[str, dict]) -> Iterator[tuple[str, tuple]]:
    """(id, {member: [(root, stars, tag)], shingles: [keys]}) -> (root, (rank, id, tag, keys)) for clustered ids."""
    node, joined = grouped
    for root, stars, tag in joined["member"]:
        yield root, (keep_rank(stars, node), node, tag, shingles_of(node, joined))


def representative_removals(members: Iterable[tuple], threshold: float) -> Iterator[tuple[str, object, dict]]:
    """One component's (rank, id, tag, keys) -> (id, tag, detail) per removal, greedily in keep-rule order.

    The best-ranked member is the first representative; each next member is removed as a duplicate of the
    first representative it is similar to (exact Jaccard >= ``threshold``), else it becomes one.
    ``cluster_kept`` names the component's best-ranked member (what reports group clusters by).
    """
    ordered = sorted(members, key=lambda m: m[0])
    reps: list[tuple[str, np.ndarray]] = []
    for _, node, tag, data in ordered:
        keys = set_keys(data) if isinstance(data, bytes) else data
        for rep_id, rep_keys in reps:
            similarity = jaccard(keys, rep_keys)
            if similarity >= threshold:
                detail = {"duplicate_of": rep_id, "cluster_size": len(ordered), "cluster_kept": reps[0][0]}
                yield node, tag, {**detail, "jaccard_to_kept": round(similarity, 4)}
                break
        else:
            reps.append((node, keys))


def _representative_removals(grouped: tuple[str, Iterable[tuple]], threshold: float) -> Iterator:
    return representative_removals(grouped[1], threshold)


def _guard_cluster(best: tuple[str, tuple], limit: int, mode: str, namespace: str) -> None:
    """Fail (or warn about) a component larger than ``limit``: chains can merge a whole source into one."""
    _, ((_, kept_id), size) = best
    if size <= limit:
        return
    message = (
        f"{namespace}: a near-duplicate cluster of {size} documents (kept {kept_id}) exceeds "
        f"max_cluster_size={limit}"
    )
    if mode == "fail":
        raise LargeClusterError(message + "; raise max_cluster_size or set on_large_cluster: warn")
    beam.metrics.Metrics.counter(namespace, "large_clusters").inc()
    log.warning(message)
