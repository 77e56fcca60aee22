"""Vectorised MinHash signatures over word n-gram shingles.

Why not ``datasketch``: it hashes every shingle with SHA-1 in a Python loop
(``bulk``) or runs numpy per shingle (``update``). Here each *token* is hashed
once by whole-array numpy operations on the UTF-8 bytes, n-grams are combined
with a few whole-array uint64 operations into 64-bit shingle keys, and all
permutations are applied in one numpy broadcast. Signatures depend only on
(text, ngram, num_perm, seed): the same on every worker, run and platform.

The hashing, spelled out (``reference_signature`` does exactly this with
plain Python ints, and the tests hold the fast path to it):

* tokens: maximal runs of ``[A-Za-z_0-9]`` (= split on ``[^A-Za-z_0-9]``,
  empties dropped); token hash ``t = fmix64(sum_j byte_j * B^j + len * L + seed)``
  (mod 2^64, see ``token_hashes``);
* shingle of tokens ``i..i+n-1``: ``h = t_i``, then ``h = h * P + t_j``
  (mod 2^64) for each following token, then the murmur3 64-bit finaliser;
  the shingle key is that value with its low bit set, ``x`` (odd, so no key
  is 0, which every multiplier would send to 0); a document's shingles are a set;
* permutation ``k``: ``(a_k * x mod 2^64) >> 32``: multiply-shift hashing
  (Dietzfelbinger et al. 1997, universal), ``a_k`` odd and drawn from xxh3 of
  the seed, so no RNG version can change them. No additive term: on AVX2 a
  whole extra pass over the (num_perm x shingles) array for no measurable gain
  in estimator accuracy, since the keys are already well mixed;
* signature: the minimum over the shingle set, per permutation (uint32).
  The top 32 bits are monotone in the 64-bit product, so the minimum is taken
  on the 64-bit products and shifted once at the end.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import xxhash

TOKEN_RE = re.compile(r"[A-Za-z_0-9]+")
MASK64 = (1 << 64) - 1
NGRAM_MULTIPLIER = 0x9E3779B97F4A7C15  # odd: golden-ratio constant, order-sensitive polynomial
FMIX_C1 = 0xFF51AFD7ED558CCD
FMIX_C2 = 0xC4CEB9FE1A85EC53
# Columns of the (num_perm, shingles) work array processed at once: 256 x 512 x 8 B = 1 MiB, about L2.
CHUNK_CELLS = 1 << 17
TOKEN_BASE = 0x100000001B3  # odd (FNV prime): invertible mod 2^64
TOKEN_BASE_INV = pow(TOKEN_BASE, -1, 1 << 64)
LENGTH_MIX = 0xD6E8FEB86659FD93
WORD_BYTE = np.zeros(256, dtype=bool)
WORD_BYTE[
    np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_0123456789", dtype=np.uint8)
] = True


@dataclass(frozen=True)
class MinHashParams:
    """What a signature is a function of (besides the text)."""

    ngram: int = 5
    num_perm: int = 256
    seed: int = 42

    def __post_init__(self) -> None:
        if self.ngram < 1 or self.num_perm < 1:
            raise ValueError(f"ngram and num_perm must be >= 1, got {self.ngram}, {self.num_perm}")

    @cached_property
    def multipliers(self) -> np.ndarray:
        """The odd multipliers ``a_k`` as a uint64 column vector of shape (num_perm, 1)."""
        return np.array(permutation_multipliers(self.seed, self.num_perm), dtype=np.uint64)[:, None]


def permutation_multipliers(seed: int, num_perm: int) -> list[int]:
    """Odd 64-bit multipliers, a fixed function of (seed, k)."""
    return [xxhash.xxh3_64_intdigest(f"perm:{k}".encode(), seed=seed) | 1 for k in range(num_perm)]


def tokenize(text: str) -> list[str]:
    """Maximal ``[A-Za-z_0-9]`` runs: the same as splitting on ``[^A-Za-z_0-9]`` and dropping empties."""
    return TOKEN_RE.findall(text)


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``TOKEN_BASE ** i`` and its inverse mod 2^64 for i < n (grown on demand, shared by all calls)."""
    global _POW, _INV_POW
    if len(_POW) < n:
        size = max(n, 2 * len(_POW), 1 << 16)
        with np.errstate(over="ignore"):
            _POW = np.cumprod(np.full(size, TOKEN_BASE, dtype=np.uint64), dtype=np.uint64)
            _POW = np.concatenate(([np.uint64(1)], _POW[:-1]))
            _INV_POW = np.cumprod(np.full(size, TOKEN_BASE_INV, dtype=np.uint64), dtype=np.uint64)
            _INV_POW = np.concatenate(([np.uint64(1)], _INV_POW[:-1]))
    return _POW, _INV_POW


_POW = np.ones(0, dtype=np.uint64)
_INV_POW = np.ones(0, dtype=np.uint64)


def token_hashes(text: str, seed: int) -> np.ndarray:
    """64-bit hash of every token, in order, without a Python loop over tokens.

    Tokens are ASCII, so tokenising the UTF-8 bytes is exact (multi-byte
    characters are all >= 0x80, never word bytes). A token's hash is
    ``fmix64(poly + len * LENGTH_MIX + seed)`` with ``poly = sum c_j * B^j``
    (mod 2^64) over its bytes: weights ``B^i`` by absolute position are summed
    per token with ``add.reduceat`` and shifted back by ``B^-start``
    (``B`` is odd, hence invertible mod 2^64).
    """
    data = np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    word_positions = np.flatnonzero(WORD_BYTE[data])
    if len(word_positions) == 0:
        return np.empty(0, dtype=np.uint64)
    breaks = np.flatnonzero(np.diff(word_positions) != 1) + 1
    starts = np.concatenate(([0], breaks))
    lengths = np.diff(np.append(starts, len(word_positions))).astype(np.uint64)
    pow_, inv_pow = _powers(len(word_positions))
    with np.errstate(over="ignore"):
        weighted = data[word_positions].astype(np.uint64)
        weighted *= pow_[: len(word_positions)]
        poly = np.add.reduceat(weighted, starts)
        poly *= inv_pow[starts]
        poly += lengths * np.uint64(LENGTH_MIX) + np.uint64(seed & MASK64)
    return _fmix64(poly)


def _fmix64(h: np.ndarray) -> np.ndarray:
    h ^= h >> np.uint64(33)
    h *= np.uint64(FMIX_C1)
    h ^= h >> np.uint64(33)
    h *= np.uint64(FMIX_C2)
    h ^= h >> np.uint64(33)
    return h


def shingle_keys(hashes: np.ndarray, ngram: int, distinct: bool = True) -> np.ndarray:
    """Odd 64-bit keys of the n-grams of a token-hash array (empty when too few tokens).

    ``distinct``: sorted and de-duplicated (the set, for exact Jaccard). A
    signature does not need it (the minimum over a multiset is the minimum
    over its set); see ``signature_keys`` for when it pays.
    """
    count = len(hashes) - ngram + 1
    if count <= 0:
        return np.empty(0, dtype=np.uint64)
    with np.errstate(over="ignore"):
        combined = hashes[:count].copy()
        for offset in range(1, ngram):
            combined *= np.uint64(NGRAM_MULTIPLIER)
            combined += hashes[offset : offset + count]
        keys = _fmix64(combined) | np.uint64(1)
    return np.unique(keys) if distinct else keys


def signature_keys(hashes: np.ndarray, params: MinHashParams) -> np.ndarray:
    """The keys to MinHash: de-duplicated for unigrams (code repeats tokens ~4x, so the sort
    pays for itself); for n >= 2 most n-grams are distinct and the sort costs more than it saves."""
    return shingle_keys(hashes, params.ngram, distinct=params.ngram == 1)


def text_shingle_keys(text: str, params: MinHashParams) -> np.ndarray:
    """Distinct shingle keys of a text (the set MinHash and the true Jaccard are computed on)."""
    return shingle_keys(token_hashes(text, params.seed), params.ngram)


def signatures_of_keys(key_sets: Sequence[np.ndarray], params: MinHashParams) -> np.ndarray:
    """(len(key_sets), num_perm) uint32 signatures; every key set must be non-empty (duplicates are fine).

    Small sets are concatenated so one broadcast covers many documents
    (``minimum.reduceat`` splits the minimum per document); the work array is
    kept around ``CHUNK_CELLS`` cells so it stays in cache.
    """
    a = params.multipliers
    out = np.empty((len(key_sets), params.num_perm), dtype=np.uint64)
    max_cols = max(1, CHUNK_CELLS // params.num_perm)
    work = np.empty((params.num_perm, max_cols), dtype=np.uint64)
    start = 0
    while start < len(key_sets):
        if len(key_sets[start]) == 0:
            raise ValueError("cannot MinHash an empty shingle set")
        stop, cols = start, 0
        while stop < len(key_sets) and (stop == start or cols + len(key_sets[stop]) <= max_cols):
            cols += len(key_sets[stop])
            stop += 1
        if stop - start == 1:
            out[start] = _min_over_columns(key_sets[start], a, work)
        else:
            keys = np.concatenate(key_sets[start:stop])
            block = work[:, : len(keys)]
            np.multiply(a, keys[None, :], out=block)
            offsets = np.cumsum([0] + [len(k) for k in key_sets[start : stop - 1]])
            if np.any(np.diff(np.append(offsets, len(keys))) == 0):
                raise ValueError("cannot MinHash an empty shingle set")
            out[start:stop] = np.minimum.reduceat(block, offsets, axis=1).T
        start = stop
    return (out >> np.uint64(32)).astype(np.uint32)


def _min_over_columns(keys: np.ndarray, a: np.ndarray, work: np.ndarray) -> np.ndarray:
    """Per-permutation minimum of ``a * x`` over one (possibly large) key set, in cache-sized chunks."""
    best = np.full(a.shape[0], np.iinfo(np.uint64).max, dtype=np.uint64)
    step = work.shape[1]
    for lo in range(0, len(keys), step):
        chunk = keys[lo : lo + step]
        block = work[:, : len(chunk)]
        np.multiply(a, chunk[None, :], out=block)
        np.minimum(best, block.min(axis=1), out=best)
    return best


def signatures(texts: Sequence[str], params: MinHashParams) -> np.ndarray:
    """Signatures of texts that all have at least ``ngram`` tokens (others raise: callers filter first)."""
    keys = [signature_keys(token_hashes(t, params.seed), params) for t in texts]
    return signatures_of_keys(keys, params)


def jaccard(keys_a: np.ndarray, keys_b: np.ndarray) -> float:
    """Exact Jaccard of two sorted distinct key arrays (0.0 for two empty sets)."""
    union = len(keys_a) + len(keys_b)
    if union == 0:
        return 0.0
    shared = len(np.intersect1d(keys_a, keys_b, assume_unique=True))
    return shared / (union - shared)


def reference_signature(text: str, params: MinHashParams) -> list[int]:
    """The same hashing with plain Python ints, one shingle at a time: the obviously-correct oracle for tests."""

    def fmix(h: int) -> int:
        h ^= h >> 33
        h = (h * FMIX_C1) & MASK64
        h ^= h >> 33
        h = (h * FMIX_C2) & MASK64
        return h ^ (h >> 33)

    tokens = re.split(r"[^A-Za-z_0-9]", text)
    tokens = [tok for tok in tokens if tok]
    hashes = []
    for tok in tokens:
        poly = sum(byte * TOKEN_BASE**j for j, byte in enumerate(tok.encode("ascii"))) & MASK64
        hashes.append(fmix((poly + len(tok) * LENGTH_MIX + params.seed) & MASK64))
    keys = set()
    for i in range(len(tokens) - params.ngram + 1):
        h = hashes[i]
        for j in range(i + 1, i + params.ngram):
            h = (h * NGRAM_MULTIPLIER + hashes[j]) & MASK64
        keys.add(fmix(h) | 1)
    if not keys:
        raise ValueError("cannot MinHash an empty shingle set")
    multipliers = [
        xxhash.xxh3_64_intdigest(f"perm:{k}".encode(), seed=params.seed) | 1 for k in range(params.num_perm)
    ]
    return [min((a * x) & MASK64 for x in keys) >> 32 for a in multipliers]
