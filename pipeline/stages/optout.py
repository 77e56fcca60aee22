"""Beam wrapper of opt-out removal (``filters.optout``)."""

from __future__ import annotations

import functools
import io
from collections.abc import Callable

from filters.optout import OptOutList, parse_optouts
from pipeline.inputs import open_binary
from pipeline.stages.base import ConfigError, EachJudge, StageConfig, StageContext, StageSpec, Verdict


class OptOutConfig(StageConfig):
    list: str | None = None


def load_optouts(path: str) -> OptOutList:
    with open_binary(path) as handle:
        text = io.TextIOWrapper(handle, encoding="utf-8")
        return parse_optouts(text, source=path)


class OptOutJudge(EachJudge):
    def __init__(self, optouts: OptOutList):
        self.optouts = optouts

    def judge_one(self, doc: dict) -> Verdict:
        entry = self.optouts.match(doc.get("max_stars_repo_name"))
        if entry is None:
            return Verdict()
        return Verdict(keep=False, reason="opted_out", detail={"entry": entry})


def make_judge(cfg: OptOutConfig, ctx: StageContext) -> Callable[[], OptOutJudge]:
    """The list is read here (errors name the file) and shipped with the stage: a few thousand
    entries, and remote workers cannot open the launcher's paths."""
    path = ctx.optout_list or cfg.list
    if not path:
        raise ConfigError(
            "stages.optout: enabled but no list given (set stages.optout.list or --optout_list)"
        )
    return functools.partial(OptOutJudge, load_optouts(path))


SPEC = StageSpec(
    name="optout", config=OptOutConfig, make_judge=make_judge, needs=("id", "max_stars_repo_name")
)
