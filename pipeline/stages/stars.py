"""Stage ``stars``: keep files from repositories with at least ``min_stars`` stars (null = 0).

We keep ``stars >= min_stars`` (the SantaCoder paper's "at least 5"); the
reference code kept ``stars > 5``, i.e. ``min_stars: 6`` here. The ledger
``detail`` holds the star count and the threshold.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

from pydantic import Field

from filters.stars import DEFAULT_MIN_STARS, keep_stars, stars_count
from pipeline.stages.base import StageConfig, StageContext, StageSpec, Verdict

NAME = "stars"


class StarsConfig(StageConfig):
    min_stars: int = Field(DEFAULT_MIN_STARS, ge=0, description="kept when max_stars_count >= min_stars")


class StarsJudge:
    def __init__(self, min_stars: int = DEFAULT_MIN_STARS):
        self.min_stars = min_stars

    def setup(self) -> None:
        pass

    def judge_one(self, doc: dict) -> Verdict:
        stars = stars_count(doc.get("max_stars_count"))
        if keep_stars(stars, self.min_stars):
            return Verdict(keep=True)
        return Verdict(keep=False, reason="few_stars", detail={"stars": stars, "min_stars": self.min_stars})

    def judge(self, docs: Sequence[dict]) -> list[Verdict]:
        return [self.judge_one(doc) for doc in docs]


def make_judge(config: StarsConfig, ctx: StageContext) -> Callable[[], StarsJudge]:
    return functools.partial(StarsJudge, min_stars=config.min_stars)


SPEC = StageSpec(name=NAME, config=StarsConfig, make_judge=make_judge)
