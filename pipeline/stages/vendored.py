"""Stage ``vendored``: flag (and optionally drop) files on vendored paths (``filters.vendored``).

``is_vendored`` is written on every kept document. With ``drop: false`` (the
default) nothing is removed and the flag lets a user filter later; with
``drop: true`` flagged files go to the ledger with reason ``vendored`` and the
matching rule (a linguist ``vendor.yml`` pattern) in ``detail``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from pydantic import Field, field_validator

from filters.vendored import RULE_SOURCE, RULES, VendoredPaths
from pipeline.stages.base import JudgeDocs, StageConfig, StageContext, StageSpec, Verdict

NAME = "vendored"


class VendoredConfig(StageConfig):
    drop: bool = Field(False, description="remove vendored files (false: only write is_vendored)")
    skip_rules: list[str] = Field(default_factory=list, description="vendor.yml patterns not applied")

    @field_validator("skip_rules")
    @classmethod
    def _known_rules(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(RULES))
        if unknown:
            raise ValueError(f"unknown rules {unknown}; rules are the patterns in filters/vendored.py")
        return value


class VendoredJudge:
    def __init__(self, drop: bool = False, skip_rules: tuple[str, ...] = ()):
        self.drop = drop
        self.paths = VendoredPaths(skip_rules)

    def setup(self) -> None:
        pass

    def judge_one(self, doc: dict) -> Verdict:
        path = doc.get("max_stars_repo_path")
        rule = self.paths.rule(path)
        scores = {"is_vendored": rule is not None}
        if rule is None or not self.drop:
            return Verdict(scores=scores)
        detail = {"rule": rule, "source": RULE_SOURCE[rule], "path": path}
        return Verdict(keep=False, reason="vendored", detail=detail, scores=scores)

    def judge(self, docs: Sequence[dict]) -> list[Verdict]:
        return [self.judge_one(doc) for doc in docs]


def build(config: VendoredConfig, ctx: StageContext) -> JudgeDocs:
    make_judge = functools.partial(VendoredJudge, config.drop, tuple(config.skip_rules))
    return JudgeDocs(NAME, make_judge, batch_size=256)


SPEC = StageSpec(name=NAME, config=VendoredConfig, build=build, columns={"is_vendored": "bool"})
