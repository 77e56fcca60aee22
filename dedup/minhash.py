"""MinHash signatures over word n-gram shingles, in compiled loops.

Why not ``datasketch``: it hashes every shingle with SHA-1 in a Python loop
(``bulk``) or runs numpy per shingle (``update``). Here each *token* is hashed
once in one compiled pass over the UTF-8 bytes, n-grams are combined into
64-bit shingle keys in another, and every permutation is applied to every key
in one compiled, SIMD-vectorised loop (numba), with no intermediate
(num_perm x shingles) array. Signatures depend
only on (text, ngram, num_perm, seed): the same on every worker, run and platform.

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
  the seed, so no RNG version can change them. No additive term: the keys are
  already well mixed, and the estimator test shows binomial spread without it;
* signature: the minimum over the shingle set, per permutation (uint32).

Speed: x86 without AVX-512 has no 64-bit SIMD multiply, so the kernel takes
the top half of the 64-bit product from 32-bit pieces (``_top32``), which
compilers turn into 8-lane ``vpmulld``/4-lane ``vpmuludq`` code; the result is
bit-identical to the 64-bit formula, which the reference still uses.
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import xxhash

from cli.imports import hidden_while_importing

# numba imports its NumPy support (numba.np.arraymath) the first time a process loads or compiles any kernel,
# and that import looks for a BLAS by importing scipy.linalg (~0.1 s of every worker's start-up). No kernel of
# ours calls one, so it is imported once, with scipy.linalg hidden (~0.04 s), when the first kernel of ours
# is compiled (``compiled``). numba then runs np.correlate and np.convolve with a plain loop; np.dot in a
# kernel still works (numba imports scipy.linalg to compile one).
NOT_FOR_KERNELS = ("scipy.linalg",)

TOKEN_RE = re.compile(r"[A-Za-z_0-9]+")
MASK64 = (1 << 64) - 1
NGRAM_MULTIPLIER = 0x9E3779B97F4A7C15  # odd: golden-ratio constant, order-sensitive polynomial
FMIX_C1 = 0xFF51AFD7ED558CCD
FMIX_C2 = 0xC4CEB9FE1A85EC53
TOKEN_BASE = 0x100000001B3  # FNV prime
LENGTH_MIX = 0xD6E8FEB86659FD93
WORD_BYTE = np.zeros(256, dtype=np.bool_)
WORD_BYTE[
    np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_0123456789", dtype=np.uint8)
] = True


def _numba() -> Any:
    with hidden_while_importing(NOT_FOR_KERNELS):
        import numba
        import numba.np.arraymath  # noqa: F401
    return numba


def _njit(fn: Callable) -> Callable:
    numba = _numba()
    try:
        return numba.njit(cache=True, nogil=True, boundscheck=False)(fn)
    except RuntimeError:  # numba: "cannot cache function ...: no locator available"
        return numba.njit(nogil=True, boundscheck=False)(fn)


class _Pending:
    """A kernel defined before any of ours was called: numba compiles it with every other pending one at the
    first call of any. Modules that define kernels then name numba's dispatchers instead (theirs and those
    they imported by name); elsewhere a name still holds this object, which calls the dispatcher."""

    __slots__ = ("fn", "dispatcher")

    def __init__(self, fn: Callable) -> None:
        self.fn = fn
        self.dispatcher: Callable | None = None

    def __call__(self, *args: Any) -> Any:
        dispatcher = self.dispatcher if self.dispatcher is not None else _compile_pending(self)
        return dispatcher(*args)


_pending: list[_Pending] = []
_compiling = threading.RLock()  # guards _pending and _numba_loaded
_numba_loaded = False
if "numba" in sys.modules:  # loaded by another module: its NumPy support our way, before any kernel of theirs
    _numba()


def _compile_pending(kernel: _Pending) -> Callable:
    """Every pending kernel -> its numba dispatcher, rebound in the kernels' modules: a kernel that calls
    another (of its module or one it imported by name) is compiled by numba against the globals it finds
    then, which must be dispatchers, not :class:`_Pending`."""
    global _numba_loaded
    with _compiling:
        if kernel.dispatcher is None:
            for waiting in _pending:
                waiting.dispatcher = _njit(waiting.fn)
            for name in {waiting.fn.__module__ for waiting in _pending}:
                module = sys.modules.get(name)
                if module is None:  # a module a test dropped: its callers hold _Pending, which still works
                    continue
                for attribute, value in list(vars(module).items()):
                    if isinstance(value, _Pending):
                        setattr(module, attribute, value.dispatcher)
            _pending.clear()
            _numba_loaded = True
    return kernel.dispatcher


def compiled(fn: Callable) -> Callable:
    """Compile to machine code once: cached on disk next to this file or in numba's user cache
    dir; where neither is writable (a locked-down worker), compiled once per process instead.
    ``nogil``: threaded Beam workers run these in parallel.

    numba itself (~0.3 s to import) is loaded by the first call of a kernel, not by the import of a
    module that defines one: a launcher that builds the graph but runs no kernel (its workers are other
    processes) never loads it."""
    with _compiling:
        if not _numba_loaded:
            kernel = _Pending(fn)
            _pending.append(kernel)
            return kernel
    return _njit(fn)


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
    def multiplier_halves(self) -> tuple[np.ndarray, np.ndarray]:
        """The odd multipliers ``a_k`` split into low and high uint32 halves (what the kernel reads)."""
        a = np.array(permutation_multipliers(self.seed, self.num_perm), dtype=np.uint64)
        return (a & np.uint64(0xFFFFFFFF)).astype(np.uint32), (a >> np.uint64(32)).astype(np.uint32)


def permutation_multipliers(seed: int, num_perm: int) -> list[int]:
    """Odd 64-bit multipliers, a fixed function of (seed, k)."""
    return [xxhash.xxh3_64_intdigest(f"perm:{k}".encode(), seed=seed) | 1 for k in range(num_perm)]


def tokenize(text: str) -> list[str]:
    """Maximal ``[A-Za-z_0-9]`` runs: the same as splitting on ``[^A-Za-z_0-9]`` and dropping empties."""
    return TOKEN_RE.findall(text)


@compiled
def _fmix64(h: np.uint64) -> np.uint64:
    h ^= h >> np.uint64(33)
    h *= np.uint64(FMIX_C1)
    h ^= h >> np.uint64(33)
    h *= np.uint64(FMIX_C2)
    return h ^ (h >> np.uint64(33))


@compiled
def _token_hash_kernel(data: np.ndarray, word_byte: np.ndarray, seed: np.uint64) -> np.ndarray:
    out = np.empty(data.shape[0] // 2 + 1, dtype=np.uint64)
    count = 0
    i = 0
    n = data.shape[0]
    while i < n:
        if not word_byte[data[i]]:
            i += 1
            continue
        poly = np.uint64(0)
        power = np.uint64(1)
        length = np.uint64(0)
        while i < n and word_byte[data[i]]:
            poly += np.uint64(data[i]) * power
            power *= np.uint64(TOKEN_BASE)
            length += np.uint64(1)
            i += 1
        out[count] = _fmix64(poly + length * np.uint64(LENGTH_MIX) + seed)
        count += 1
    return out[:count].copy()


def token_hashes(text: str | bytes | memoryview, seed: int) -> np.ndarray:
    """64-bit hash of every token, in order: one compiled pass over the UTF-8 bytes (a text, or its
    UTF-8 bytes as they are, for instance a view of an Arrow string column).

    Tokens are ASCII, so tokenising the UTF-8 bytes is exact (multi-byte
    characters are all >= 0x80, never word bytes).
    """
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    data = np.frombuffer(raw, dtype=np.uint8)
    return _token_hash_kernel(data, WORD_BYTE, np.uint64(seed & MASK64))


@compiled
def _shingle_kernel(hashes: np.ndarray, ngram: int) -> np.ndarray:
    out = np.empty(max(hashes.shape[0] - ngram + 1, 0), dtype=np.uint64)
    for i in range(out.shape[0]):
        h = hashes[i]
        for j in range(i + 1, i + ngram):
            h = h * np.uint64(NGRAM_MULTIPLIER) + hashes[j]
        out[i] = _fmix64(h) | np.uint64(1)
    return out


@compiled
def _distinct_kernel(keys: np.ndarray) -> np.ndarray:
    """Open addressing on a table of at least twice the keys; 0 marks a free slot (keys are odd)."""
    size = 16
    while size < 2 * keys.shape[0]:
        size *= 2
    mask = np.uint64(size - 1)
    table = np.zeros(size, dtype=np.uint64)
    out = np.empty(keys.shape[0], dtype=np.uint64)
    count = 0
    for i in range(keys.shape[0]):
        x = keys[i]
        slot = (x >> np.uint64(1)) & mask  # bit 0 is always set; the others are fmix64 output
        while table[slot] != 0 and table[slot] != x:
            slot = (slot + np.uint64(1)) & mask
        if table[slot] == 0:
            table[slot] = x
            out[count] = x
            count += 1
    return out[:count].copy()


def distinct_keys(keys: np.ndarray) -> np.ndarray:
    """The distinct keys of an array of odd keys, in order of first occurrence: a hash set in one
    compiled pass, ~7x cheaper than ``np.unique``'s sort on code's token streams."""
    return _distinct_kernel(keys)


def shingle_keys(hashes: np.ndarray, ngram: int, distinct: bool = True) -> np.ndarray:
    """Odd 64-bit keys of the n-grams of a token-hash array (empty when too few tokens).

    ``distinct``: de-duplicated, in order of first occurrence (the set, for
    exact Jaccard). A signature does not need it (the minimum over a multiset
    is the minimum over its set); see ``signature_keys`` for when it pays.
    """
    keys = _shingle_kernel(hashes, ngram)
    return distinct_keys(keys) if distinct else keys


def signature_keys(hashes: np.ndarray, params: MinHashParams) -> np.ndarray:
    """The keys to MinHash: de-duplicated for unigrams (code repeats tokens ~4x); for n >= 2 about
    87 % of code's n-grams are distinct, and the de-duplication costs what it saves."""
    return shingle_keys(hashes, params.ngram, distinct=params.ngram == 1)


def text_shingle_keys(text: str, params: MinHashParams) -> np.ndarray:
    """Distinct shingle keys of a text (the set MinHash and the true Jaccard are computed on)."""
    return shingle_keys(token_hashes(text, params.seed), params.ngram)


@compiled
def _signature_kernel(
    keys: np.ndarray, offsets: np.ndarray, a_lo: np.ndarray, a_hi: np.ndarray, out: np.ndarray
) -> None:
    """``out[d, k] = min over keys of document d of top32(a_k * x mod 2^64)``.

    With ``a = a_hi:a_lo`` and ``x = x_hi:x_lo`` (32-bit halves), the top half
    of ``a * x mod 2^64`` is ``hi32(a_lo * x_lo) + a_lo * x_hi + a_hi * x_lo``
    (mod 2^32): the ``a_hi * x_hi`` term only reaches bits >= 64. The inner
    loop runs over permutations, so it is as long for a 10-shingle file as
    for a 10 MB one, and the running minima stay in L1. Four keys share each
    pass over the permutations (one load and one store of each minimum for
    four keys: ~1.16x over one key at a time); the last few take one each.
    """
    best = np.empty(a_lo.shape[0], dtype=np.uint32)
    shift = np.uint64(32)
    low = np.uint64(0xFFFFFFFF)
    for doc in range(offsets.shape[0] - 1):
        best[:] = np.uint32(0xFFFFFFFF)
        i, end = offsets[doc], offsets[doc + 1]
        while i + 4 <= end:
            x0, x1, x2, x3 = keys[i], keys[i + 1], keys[i + 2], keys[i + 3]
            l0, l1, l2, l3 = x0 & low, x1 & low, x2 & low, x3 & low
            h0, h1 = np.uint32(x0 >> shift), np.uint32(x1 >> shift)
            h2, h3 = np.uint32(x2 >> shift), np.uint32(x3 >> shift)
            s0, s1, s2, s3 = np.uint32(l0), np.uint32(l1), np.uint32(l2), np.uint32(l3)
            for k in range(a_lo.shape[0]):
                lo, hi = a_lo[k], a_hi[k]
                wide = np.uint64(lo)
                t0 = np.uint32(np.uint32((wide * l0) >> shift) + lo * h0 + hi * s0)
                t1 = np.uint32(np.uint32((wide * l1) >> shift) + lo * h1 + hi * s1)
                t2 = np.uint32(np.uint32((wide * l2) >> shift) + lo * h2 + hi * s2)
                t3 = np.uint32(np.uint32((wide * l3) >> shift) + lo * h3 + hi * s3)
                best[k] = min(best[k], min(min(t0, t1), min(t2, t3)))
            i += 4
        while i < end:
            x = keys[i]
            x_lo = x & low
            x_lo32 = np.uint32(x_lo)
            x_hi32 = np.uint32(x >> shift)
            for k in range(a_lo.shape[0]):
                lo = a_lo[k]
                top = np.uint32((np.uint64(lo) * x_lo) >> shift) + lo * x_hi32 + a_hi[k] * x_lo32
                best[k] = min(best[k], np.uint32(top))
            i += 1
        out[doc, :] = best


def signatures_of_keys(key_sets: Sequence[np.ndarray], params: MinHashParams) -> np.ndarray:
    """(len(key_sets), num_perm) uint32 signatures; every key set must be non-empty (duplicates are fine)."""
    sizes = np.fromiter((len(k) for k in key_sets), dtype=np.int64, count=len(key_sets))
    if np.any(sizes == 0):
        raise ValueError("cannot MinHash an empty shingle set")
    offsets = np.zeros(len(key_sets) + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    keys = np.concatenate(key_sets) if len(key_sets) else np.empty(0, dtype=np.uint64)
    out = np.empty((len(key_sets), params.num_perm), dtype=np.uint32)
    a_lo, a_hi = params.multiplier_halves
    _signature_kernel(keys.astype(np.uint64, copy=False), offsets, a_lo, a_hi, out)
    return out


def load_kernels() -> None:
    """Load (or compile) every kernel of this module now, ahead of a worker's first document (~0.3 s
    cached, with numba's own set-up; several seconds when compiled)."""
    params = MinHashParams(ngram=1, num_perm=4, seed=1)  # unigrams: the de-duplication kernel too
    signatures_of_keys([signature_keys(token_hashes("load every kernel now", params.seed), params)], params)


def signatures(texts: Sequence[str], params: MinHashParams) -> np.ndarray:
    """Signatures of texts that all have at least ``ngram`` tokens (others raise: callers filter first)."""
    keys = [signature_keys(token_hashes(t, params.seed), params) for t in texts]
    return signatures_of_keys(keys, params)


def jaccard(keys_a: np.ndarray, keys_b: np.ndarray) -> float:
    """Exact Jaccard of two arrays of distinct keys, in any order (0.0 for two empty sets)."""
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
