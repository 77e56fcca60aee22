"""Stage ``vendored``: flag (and optionally drop) files on vendored paths (``filters.vendored``).

``is_vendored`` is written on every kept document. With ``drop: false`` (the
default) nothing is removed and the flag lets a user filter later; with
``drop: true`` flagged files go to the ledger with reason ``vendored`` and the
matching rule (a linguist ``vendor.yml`` pattern) in ``detail``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

from pydantic import Field

from filters.vendored import RULE_SOURCE, RULES, VendoredPaths
from pipeline.stages.base import StageConfig, StageContext, StageSpec, Verdict, rule_list

NAME = "vendored"
SkipRules = rule_list(RULES, "rules are the patterns in filters/vendored.py")


class VendoredConfig(StageConfig):
    drop: bool = Field(False, description="remove vendored files (false: only write is_vendored)")
    skip_rules: SkipRules = Field(default_factory=list, description="vendor.yml patterns not applied")


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


def make_judge(config: VendoredConfig, ctx: StageContext) -> Callable[[], VendoredJudge]:
    return functools.partial(VendoredJudge, config.drop, tuple(config.skip_rules))


SPEC = StageSpec(
    name=NAME,
    config=VendoredConfig,
    make_judge=make_judge,
    needs=("id", "max_stars_repo_path"),
    columns={"is_vendored": "bool"},
)
