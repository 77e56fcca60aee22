"""Beam wrapper of the basic filters (``filters.basic``)."""

from __future__ import annotations

from pydantic import Field

from filters.basic import BasicThresholds, basic_failure
from pipeline.stages.base import EachJudge, StageConfig, StageSpec, Verdict, judge_of_config


class BasicConfig(StageConfig):
    max_line_length: int = Field(1000, gt=0)
    max_avg_line_length: float = Field(100.0, gt=0)
    min_alphanum_fraction: float = Field(0.25, ge=0, le=1)


class BasicJudge(EachJudge):
    def __init__(self, cfg: BasicConfig):
        self.thresholds = BasicThresholds(
            cfg.max_line_length, cfg.max_avg_line_length, cfg.min_alphanum_fraction
        )

    def judge_one(self, doc: dict) -> Verdict:
        failure = basic_failure(
            doc["max_line_length"], doc["avg_line_length"], doc["alphanum_fraction"], self.thresholds
        )
        if failure is None:
            return Verdict()
        reason, value, threshold = failure
        return Verdict(keep=False, reason=reason, detail={"value": value, "threshold": threshold})


SPEC = StageSpec(
    name="basic",
    config=BasicConfig,
    make_judge=judge_of_config(BasicJudge),
    needs=("id", "max_line_length", "avg_line_length", "alphanum_fraction"),
)
