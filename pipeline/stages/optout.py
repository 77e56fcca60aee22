"""Beam wrapper of opt-out removal (``filters.optout``): the list is read once per worker."""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence

from filters.optout import OptOutList, parse_optouts
from pipeline.inputs import open_binary
from pipeline.stages.base import JudgeDocs, StageConfig, StageContext, StageSpec, Verdict


class OptOutConfig(StageConfig):
    list: str | None = None


def load_optouts(path: str) -> OptOutList:
    with open_binary(path) as handle:
        text = io.TextIOWrapper(handle, encoding="utf-8")
        return parse_optouts(text, source=path)


class OptOutJudge:
    def __init__(self, path: str):
        self.path = path

    def setup(self) -> None:
        self.optouts = load_optouts(self.path)

    def judge(self, docs: Sequence[dict]) -> list[Verdict]:
        verdicts = []
        for doc in docs:
            entry = self.optouts.match(doc.get("max_stars_repo_name"))
            if entry is None:
                verdicts.append(Verdict())
            else:
                verdicts.append(Verdict(keep=False, reason="opted_out", detail={"entry": entry}))
        return verdicts


def build(cfg: OptOutConfig, ctx: StageContext) -> JudgeDocs:
    path = ctx.optout_list or cfg.list
    if not path:
        raise ValueError("stages.optout: enabled but no list given (set stages.optout.list or --optout_list)")
    load_optouts(path)  # fail at construction, naming the file, rather than inside a worker
    return JudgeDocs("optout", functools.partial(OptOutJudge, path))


SPEC = StageSpec(name="optout", config=OptOutConfig, build=build)
