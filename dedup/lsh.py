"""LSH banding: which (bands, rows) to use, band keys of a signature, and bucket edges.

Two documents become candidates when all ``rows`` values of at least one band
agree; with Jaccard ``s`` that happens with probability ``1 - (1 - s^r)^b``.
``optimal_bands`` picks ``(b, r)`` like datasketch's ``_optimal_param``: the
smallest weighted sum of the false-positive area (below the threshold) and the
false-negative area (above it) with ``b * r <= num_perm``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np
import xxhash

# Simpson's rule on this many intervals: matches scipy.integrate.quad to ~1e-12 on these smooth curves.
_INTEGRATION_INTERVALS = 512


def _simpson(values: np.ndarray, width: float) -> np.ndarray:
    """Simpson's rule along the last axis of values sampled at equal steps over ``width``."""
    step = width / (values.shape[-1] - 1)
    inner = 4 * values[..., 1:-1:2].sum(axis=-1) + 2 * values[..., 2:-1:2].sum(axis=-1)
    return step / 3 * (values[..., 0] + values[..., -1] + inner)


def _integrate(values_of: Callable[[np.ndarray], np.ndarray], lo: float, hi: float) -> float:
    return float(_simpson(values_of(np.linspace(lo, hi, _INTEGRATION_INTERVALS + 1)), hi - lo))


def candidate_probability(similarity: np.ndarray | float, bands: int, rows: int) -> np.ndarray | float:
    """Probability that two documents of Jaccard ``similarity`` share at least one band."""
    return 1.0 - (1.0 - np.power(similarity, rows)) ** bands


def false_positive_area(threshold: float, bands: int, rows: int) -> float:
    return _integrate(lambda s: candidate_probability(s, bands, rows), 0.0, threshold)


def false_negative_area(threshold: float, bands: int, rows: int) -> float:
    return _integrate(lambda s: 1.0 - candidate_probability(s, bands, rows), threshold, 1.0)


def optimal_bands(
    threshold: float, num_perm: int, false_positive_weight: float = 0.5, false_negative_weight: float = 0.5
) -> tuple[int, int]:
    """(bands, rows) minimising the weighted FP + FN areas; 256 perms: 0.7 -> (25, 10), 0.85 -> (13, 19)."""
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")
    pairs = np.array(
        [(b, r) for b in range(1, num_perm + 1) for r in range(1, num_perm // b + 1)], dtype=float
    )
    bands, rows = pairs[:, :1], pairs[:, 1:]
    below = np.linspace(0.0, threshold, _INTEGRATION_INTERVALS + 1)[None, :]
    above = np.linspace(threshold, 1.0, _INTEGRATION_INTERVALS + 1)[None, :]
    fp = _simpson(candidate_probability(below, bands, rows), threshold)
    fn = _simpson(1.0 - candidate_probability(above, bands, rows), 1.0 - threshold)
    best = int(
        np.argmin(false_positive_weight * fp + false_negative_weight * fn)
    )  # first minimum, as datasketch
    return int(pairs[best, 0]), int(pairs[best, 1])


def band_keys(signature: np.ndarray, bands: int, rows: int) -> list[bytes]:
    """One shuffle key per band: 2-byte band index + 8-byte xxh3 of the band's rows.

    The band index keeps equal values in different bands apart; 64-bit band
    hashes collide with probability ~2^-64 per pair, far below the LSH error.
    """
    if bands * rows > len(signature):
        raise ValueError(
            f"{bands} bands x {rows} rows need {bands * rows} values, signature has {len(signature)}"
        )
    data = np.ascontiguousarray(signature[: bands * rows], dtype="<u4").reshape(bands, rows)
    return [band.to_bytes(2, "big") + xxhash.xxh3_64_digest(data[band].tobytes()) for band in range(bands)]


def star_edges(member_ids: Iterable[str]) -> Iterator[tuple[str, str]]:
    """Edges from the smallest id of a bucket to every other member: len - 1 edges, never all pairs.

    Reads ``member_ids`` twice (Beam's grouped values are re-iterable), so a
    hot bucket is streamed, not held as a set; duplicate ids give no edge.
    """
    smallest = min(member_ids, default=None)
    if smallest is None:
        return
    for member in member_ids:
        if member != smallest:
            yield smallest, member


def band_hashes(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(documents, bands) uint64: each band's 64-bit xxh3, the hash part of :func:`band_keys` (a bucket is a
    (band, hash) pair), for many signatures at once."""
    if bands * rows > signatures.shape[1]:
        raise ValueError(
            f"{bands} bands x {rows} rows need {bands * rows} values, signatures have {signatures.shape[1]}"
        )
    raw = np.ascontiguousarray(signatures[:, : bands * rows], dtype="<u4").tobytes()
    width, digest = rows * 4, xxhash.xxh3_64_intdigest
    count = signatures.shape[0] * bands
    hashes = np.fromiter((digest(raw[i : i + width]) for i in range(0, len(raw), width)), np.uint64, count)
    return hashes.reshape(signatures.shape[0], bands)


def bucket_edges(bands: np.ndarray, hashes: np.ndarray, ids: Sequence[str]) -> Iterator[tuple[str, str]]:
    """:func:`star_edges` of every bucket with two or more members, from parallel (band, hash, id) entries.

    Why: one sort of many entries instead of one shuffle record per entry (a document has one entry per
    band, and nearly every bucket holds a single document).
    """
    if len(hashes) < 2:
        return
    order = np.lexsort((hashes, bands))
    band, hashed = bands[order], hashes[order]
    same = (band[1:] == band[:-1]) & (hashed[1:] == hashed[:-1])
    if not same.any():
        return
    starts = np.flatnonzero(np.concatenate(([True], ~same)))
    ends = np.append(starts[1:], len(order))
    shared = ends - starts > 1
    for start, end in zip(starts[shared].tolist(), ends[shared].tolist(), strict=True):
        yield from star_edges([ids[i] for i in order[start:end].tolist()])
