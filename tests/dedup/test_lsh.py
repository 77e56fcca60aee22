"""LSH banding: datasketch's optimum, band keys that separate bands, star edges linear in bucket size, bucket
groups that find the same edges as one shuffle record per band key."""

from __future__ import annotations

import numpy as np
import pytest
from datasketch.lsh import _optimal_param

from dedup.lsh import band_hashes, band_keys, bucket_edges, candidate_probability, optimal_bands, star_edges
from dedup.near import bucket_group_edges, bucket_group_records


def test_optimal_bands_for_the_presets() -> None:
    assert optimal_bands(0.7, 256) == (25, 10)  # dedup-alt
    assert optimal_bands(0.85, 256) == (13, 19)  # stack-v1


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.6, 0.75, 0.8, 0.9, 0.95])
@pytest.mark.parametrize("num_perm", [64, 128, 256])
def test_optimal_bands_match_datasketch(threshold: float, num_perm: int) -> None:
    assert optimal_bands(threshold, num_perm) == _optimal_param(threshold, num_perm, 0.5, 0.5)


def test_candidate_probability_of_25_by_10() -> None:
    # the S-curve behind the recall figures: about a coin flip at 0.7, near-certain at 0.85
    assert candidate_probability(0.7, 25, 10) == pytest.approx(0.5115, abs=1e-4)
    assert candidate_probability(0.85, 25, 10) == pytest.approx(0.9958, abs=1e-4)
    assert candidate_probability(0.5, 25, 10) == pytest.approx(0.0241, abs=1e-4)


def test_band_keys_change_only_where_rows_change() -> None:
    sig = np.arange(256, dtype=np.uint32)
    other = sig.copy()
    other[37] += 1  # row 7 of band 3
    keys, other_keys = band_keys(sig, 25, 10), band_keys(other, 25, 10)
    assert len(keys) == 25 and all(len(k) == 10 for k in keys)
    assert [i for i in range(25) if keys[i] != other_keys[i]] == [3]
    # equal rows in different bands never share a bucket
    flat = np.zeros(256, dtype=np.uint32)
    assert len(set(band_keys(flat, 25, 10))) == 25
    with pytest.raises(ValueError):
        band_keys(sig[:100], 25, 10)


def test_star_edges_link_every_member_to_the_smallest_id() -> None:
    members = [f"{i:04d}" for i in range(1000, 0, -1)]
    edges = list(star_edges(members))
    assert len(edges) == 999 and {a for a, _ in edges} == {"0001"}
    assert {b for _, b in edges} == set(members) - {"0001"}
    assert list(star_edges(["x"])) == [] and list(star_edges([])) == []
    assert list(star_edges(["b", "a", "b"])) == [("a", "b"), ("a", "b")]  # duplicates are removed downstream


def _planted_signatures(rng: np.random.Generator, docs: int) -> np.ndarray:
    """Random signatures where some documents copy some bands of others (shared buckets, and chains)."""
    sigs = rng.integers(0, 2**32, size=(docs, 256), dtype=np.uint32)
    for _ in range(docs // 2):
        a, b, band = rng.integers(0, docs), rng.integers(0, docs), rng.integers(0, 25)
        sigs[b, band * 10 : band * 10 + 10] = sigs[a, band * 10 : band * 10 + 10]
    return sigs


def test_bucket_edges_are_the_star_edges_of_every_bucket() -> None:
    sigs = _planted_signatures(np.random.default_rng(5), 300)
    ids = [f"{i:020x}" for i in np.random.default_rng(6).permutation(10**6)[:300]]
    buckets: dict[bytes, list[str]] = {}
    for doc_id, sig in zip(ids, sigs, strict=True):
        for key in band_keys(sig, 25, 10):
            buckets.setdefault(key, []).append(doc_id)
    expected = sorted(edge for members in buckets.values() for edge in star_edges(members))
    hashes = band_hashes(sigs, 25, 10)
    assert [
        [b.to_bytes(2, "big") + int(h).to_bytes(8, "big") for b, h in enumerate(row)] for row in hashes
    ] == [band_keys(sig, 25, 10) for sig in sigs]
    bands = np.tile(np.arange(25, dtype=np.uint16), len(ids))
    got = sorted(bucket_edges(bands, hashes.ravel(), [doc_id for doc_id in ids for _ in range(25)]))
    assert len(expected) > 50 and got == expected
    with pytest.raises(ValueError):
        band_hashes(sigs[:, :100], 25, 10)


@pytest.mark.parametrize("groups", [1, 7, 1024])
def test_bucket_groups_give_the_same_edges_whatever_their_count(groups: int) -> None:
    sigs = _planted_signatures(np.random.default_rng(7), 200)
    ids = [f"d{i:04d}" for i in range(200)]
    hashes = band_hashes(sigs, 25, 10)
    expected = sorted(
        bucket_edges(
            np.tile(np.arange(25, dtype=np.uint16), 200), hashes.ravel(), [i for i in ids for _ in range(25)]
        )
    )
    by_group: dict[int, list] = {}
    for start in range(0, 200, 64):  # three batches of documents, as the Sketch sends them
        for group, record in bucket_group_records(
            ids[start : start + 64], hashes[start : start + 64], groups
        ):
            assert 0 <= group < groups
            by_group.setdefault(group, []).append(record)
    got = sorted(edge for item in by_group.items() for edge in bucket_group_edges(item))
    assert got == expected and len(expected) > 30
