"""Exact near-duplicate truth for ``bench.near_dedup_quality``: every pair's 5-gram Jaccard, and the scores.

The truth is the exact Jaccard of word 5-gram sets (the stage's own
tokenising and shingle hashing, ``dedup.minhash``) of EVERY pair of
documents at or above 0.7, found exactly with prefix filtering: a pair with
J >= t must share one of the first ``|x| - ceil(t |x|) + 1`` keys of each set
in a global rarest-first order; the candidates are then counted exactly.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from dedup.exact import stars_of
from dedup.minhash import MinHashParams, jaccard, shingle_keys, token_hashes

SEED = MinHashParams().seed
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Shingled:
    """Every document's distinct shingle keys; ``hashed`` marks those the stage MinHashes (>= min_tokens)."""

    ids: list[str]
    keys: list[np.ndarray]
    hashed: np.ndarray
    stars: list[int]

    @cached_property
    def index(self) -> dict[str, int]:
        return {doc_id: i for i, doc_id in enumerate(self.ids)}


def shingle(docs: list[dict], ngram: int, min_tokens: int = 10) -> Shingled:
    keys, hashed = [], []
    for doc in docs:
        hashes = token_hashes(doc["content"], SEED)
        keys.append(shingle_keys(hashes, ngram))
        hashed.append(len(hashes) >= min_tokens and len(keys[-1]) > 0)
    return Shingled([d["id"] for d in docs], keys, np.array(hashed), [stars_of(d) for d in docs])


def similar_pairs(keys: list[np.ndarray], floor: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(a, b, J) with a < b for every pair of key sets with exact Jaccard >= ``floor`` (prefix filtering)."""
    sizes = np.array([len(k) for k in keys])
    rows = np.repeat(np.arange(len(keys)), sizes)
    unique, inverse, counts = np.unique(np.concatenate(keys), return_inverse=True, return_counts=True)
    order = np.lexsort((unique, counts))  # rarest first, ties by key value
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    token_rank = rank[inverse]
    entries = np.lexsort((token_rank, rows))
    token_rank, starts = token_rank[entries], np.concatenate([[0], np.cumsum(sizes)[:-1]])
    position = np.arange(len(rows)) - starts[rows]
    prefix = sizes - np.ceil(floor * sizes - 1e-9).astype(np.int64) + 1
    mask = position < prefix[rows]
    ones = np.ones(int(mask.sum()), dtype=np.int32)
    p = sparse.csr_matrix((ones, (rows[mask], token_rank[mask])), shape=(len(keys), len(unique)))
    cand = sparse.triu(p @ p.T, k=1).tocoo()
    a, b = cand.row, cand.col
    small, large = np.minimum(sizes[a], sizes[b]), np.maximum(sizes[a], sizes[b])
    keep = small >= floor * large - 1e-9
    a, b = a[keep], b[keep]
    full = sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.int32), (rows, token_rank)), shape=(len(keys), len(unique))
    )
    shared = np.empty(len(a), dtype=np.int64)
    start = 0
    while start < len(a):  # chunks of ~20M row entries
        end, budget = start, 0
        while end < len(a) and budget < 20_000_000:
            budget += sizes[a[end]] + sizes[b[end]]
            end += 1
        block = full[a[start:end]].multiply(full[b[start:end]])
        shared[start:end] = np.asarray(block.sum(axis=1)).ravel()
        start = end
    similarity = shared / (sizes[a] + sizes[b] - shared)
    keep = similarity >= floor
    return a[keep], b[keep], similarity[keep]


@dataclass
class Truth:
    """The true similar pairs (5-gram J >= 0.7) and a way to get any pair's exact J."""

    sh: Shingled
    a: np.ndarray
    b: np.ndarray
    j: np.ndarray

    def jaccard(self, x: str, y: str) -> float:
        index = self.sh.index
        return jaccard(self.sh.keys[index[x]], self.sh.keys[index[y]])


def score(removed: dict[str, str], truth: Truth) -> dict:
    """Recall, precision, removed / ideal counts and the largest cluster of ``{removed id: duplicate_of}``."""
    index = truth.sh.index
    gone = np.zeros(len(truth.sh.ids), dtype=bool)
    gone[[index[d] for d in removed]] = True
    out = {}
    n = len(truth.sh.ids)
    graph = sparse.coo_matrix((np.ones(len(truth.a)), (truth.a, truth.b)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    found = gone[truth.a] | gone[truth.b]
    for t in (0.7, 0.8):
        sel = truth.j >= t
        out[f"recall@{t}"] = float(found[sel].mean()) if sel.any() else 1.0
        out[f"pairs@{t}"] = int(sel.sum())
    # pairs that are a whole true component: no chain can find them, only their own bands
    alone = np.bincount(labels)[labels[truth.a]] == 2
    out["isolated_recall"] = float(found[alone].mean()) if alone.any() else 1.0
    out["isolated_pairs"] = int(alone.sum())
    similarity = np.array([truth.jaccard(d, k) for d, k in removed.items()])
    for t in (0.6, 0.7):
        out[f"precision@{t}"] = float((similarity >= t).mean()) if len(similarity) else 1.0
    nodes = np.unique(np.concatenate([truth.a, truth.b]))
    out["ideal"] = int(len(nodes) - len(np.unique(labels[nodes])))
    out["removed"] = len(removed)
    sizes = Counter(removed.values())
    out["largest"] = max(sizes.values(), default=0) + (1 if sizes else 0)
    return out


def cached_truth(sh: Shingled, hashed: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``similar_pairs`` of the MinHashed documents at 0.7 (indices into ``hashed``), cached by document ids."""
    digest = hashlib.blake2b("\n".join(sh.ids).encode(), digest_size=12).hexdigest()
    path = ROOT / ".cache" / "bench" / f"near_truth_{len(sh.ids)}_{digest}.npz"
    if path.exists():
        saved = np.load(path)
        return saved["a"], saved["b"], saved["j"]
    a, b, j = similar_pairs([sh.keys[i] for i in hashed], 0.7)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, a=a, b=b, j=j)
    return a, b, j
