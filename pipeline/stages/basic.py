"""Beam wrapper of the basic filters (``filters.basic``)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

from pydantic import Field

from filters.basic import BasicThresholds, basic_failure
from pipeline.stages.base import StageConfig, StageContext, StageSpec, Verdict


class BasicConfig(StageConfig):
    max_line_length: int = Field(1000, gt=0)
    max_avg_line_length: float = Field(100.0, gt=0)
    min_alphanum_fraction: float = Field(0.25, ge=0, le=1)


class BasicJudge:
    def __init__(self, cfg: BasicConfig):
        self.thresholds = BasicThresholds(
            cfg.max_line_length, cfg.max_avg_line_length, cfg.min_alphanum_fraction
        )

    def setup(self) -> None:
        pass

    def judge(self, docs: Sequence[dict]) -> list[Verdict]:
        verdicts = []
        for doc in docs:
            failure = basic_failure(
                doc["max_line_length"], doc["avg_line_length"], doc["alphanum_fraction"], self.thresholds
            )
            if failure is None:
                verdicts.append(Verdict())
            else:
                reason, value, threshold = failure
                verdicts.append(
                    Verdict(keep=False, reason=reason, detail={"value": value, "threshold": threshold})
                )
        return verdicts


def make_judge(cfg: BasicConfig, ctx: StageContext) -> Callable[[], BasicJudge]:
    return functools.partial(BasicJudge, cfg)


SPEC = StageSpec(
    name="basic",
    config=BasicConfig,
    make_judge=make_judge,
    needs=("id", "max_line_length", "avg_line_length", "alphanum_fraction"),
)
