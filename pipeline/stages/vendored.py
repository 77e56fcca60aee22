"""Stage ``vendored``: flag (and optionally drop) files on vendored paths (``filters.vendored``).

``is_vendored`` is written on every kept document. With ``drop: false`` (the
default) nothing is removed and the flag lets a user filter later; with
``drop: true`` flagged files go to the ledger with reason ``vendored`` and the
matching rule (a linguist ``vendor.yml`` pattern) in ``detail``.
"""

from __future__ import annotations

from pydantic import Field

from filters.vendored import RULE_SOURCE, RULES, VendoredPaths
from pipeline.stages.base import EachJudge, StageConfig, StageSpec, Verdict, judge_of_config, rule_list

NAME = "vendored"
SkipRules = rule_list(RULES, "rules are the patterns in filters/vendored.py")


class VendoredConfig(StageConfig):
    drop: bool = Field(False, description="remove vendored files (false: only write is_vendored)")
    skip_rules: SkipRules = Field(default_factory=list, description="vendor.yml patterns not applied")


class VendoredJudge(EachJudge):
    def __init__(self, config: VendoredConfig):
        self.drop = config.drop
        self.paths = VendoredPaths(tuple(config.skip_rules))

    def judge_one(self, doc: dict) -> Verdict:
        path = doc.get("max_stars_repo_path")
        rule = self.paths.rule(path)
        scores = {"is_vendored": rule is not None}
        if rule is None or not self.drop:
            return Verdict(scores=scores)
        detail = {"rule": rule, "source": RULE_SOURCE[rule], "path": path}
        return Verdict(keep=False, reason="vendored", detail=detail, scores=scores)


SPEC = StageSpec(
    name=NAME,
    config=VendoredConfig,
    make_judge=judge_of_config(VendoredJudge),
    needs=("id", "max_stars_repo_path"),
    columns={"is_vendored": "bool"},
)
