"""LSH banding: datasketch's optimum, band keys that separate bands, star edges linear in bucket size."""

from __future__ import annotations

import numpy as np
import pytest
from datasketch.lsh import _optimal_param

from dedup.lsh import band_keys, candidate_probability, optimal_bands, star_edges


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
