"""Stage ``stars``: keep files from repositories with at least ``min_stars`` stars (null = 0).

We keep ``stars >= min_stars`` (the SantaCoder paper's "at least 5"); the
reference code kept ``stars > 5``, i.e. ``min_stars: 6`` here. The ledger
``detail`` holds the star count and the threshold.
"""

from __future__ import annotations

from pydantic import Field

from filters.stars import DEFAULT_MIN_STARS, keep_stars, stars_count
from pipeline.stages.base import EachJudge, StageConfig, StageSpec, Verdict, judge_of_config


class StarsConfig(StageConfig):
    min_stars: int = Field(DEFAULT_MIN_STARS, ge=0, description="kept when max_stars_count >= min_stars")


class StarsJudge(EachJudge):
    config: StarsConfig

    def judge_one(self, doc: dict) -> Verdict:
        stars, min_stars = stars_count(doc.get("max_stars_count")), self.config.min_stars
        if keep_stars(stars, min_stars):
            return Verdict(keep=True)
        return Verdict(keep=False, reason="few_stars", detail={"stars": stars, "min_stars": min_stars})


SPEC = StageSpec(name="stars", config=StarsConfig, make_judge=judge_of_config(StarsJudge))
