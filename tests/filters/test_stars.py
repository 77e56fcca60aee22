"""Stars filter: inclusive threshold, null stars, the Beam stage and its ledger detail."""

from __future__ import annotations

import json

import pytest

from filters.stars import keep_stars, stars_count
from tests.stage_runner import run_stage


def test_null_stars_count_as_zero() -> None:
    assert stars_count(None) == 0
    assert stars_count(7) == 7


@pytest.mark.parametrize("stars, kept", [(0, False), (4, False), (5, True), (6, True), (12_000, True)])
def test_threshold_is_inclusive(stars: int, kept: bool) -> None:
    assert keep_stars(stars, 5) is kept


def test_reference_behaviour_is_min_stars_6() -> None:
    # bigcode-dataset kept stars > 5: with min_stars=6 a 5-star repo goes, a 6-star repo stays.
    assert not keep_stars(5, 6)
    assert keep_stars(6, 6)


def test_stage_through_beam(tmp_path) -> None:
    from pipeline.stages.stars import SPEC, StarsConfig

    assert StarsConfig().min_stars == 5
    assert SPEC.columns == {}
    docs = [
        {"id": f"{i:020d}", "content": "x = 1\n", "lang": "python", "max_stars_count": stars,
         "max_stars_repo_name": f"o/r{i}", "max_stars_repo_path": "a.py"}
        for i, stars in enumerate([None, 0, 4, 5, 6, 100])
    ]  # fmt: skip
    kept, removed = run_stage(SPEC, StarsConfig(enabled=True), docs, tmp_path)
    assert sorted(doc["max_stars_count"] for doc in kept) == [5, 6, 100]
    assert len(kept) + len(removed) == len(docs)
    details = {row["repo"]: (row["reason"], json.loads(row["detail"])) for row in removed}
    assert details == {
        "o/r0": ("few_stars", {"stars": 0, "min_stars": 5}),
        "o/r1": ("few_stars", {"stars": 0, "min_stars": 5}),
        "o/r2": ("few_stars", {"stars": 4, "min_stars": 5}),
    }
    assert {row["size"] for row in removed} == {6}


def test_config_validates() -> None:
    from pipeline.stages.stars import StarsConfig

    with pytest.raises(ValueError):
        StarsConfig(min_stars=-1)
    with pytest.raises(ValueError):
        StarsConfig(min_star=3)
