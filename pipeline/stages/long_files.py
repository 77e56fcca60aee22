"""Stage ``long_files``: drop files with more than ``max_lines`` lines (``filters.long_files``).

``num_lines`` is written on every document; the ledger ``detail`` has it with the threshold.
Note that ``validate`` already records files over 1 MiB as invalid, so with its
default a file reaches this stage with 100,000 lines only when its lines average
about 10 bytes or less.
"""

from __future__ import annotations

from pydantic import Field

from filters.long_files import MAX_LINES, line_count, too_long
from pipeline.stages.base import EachJudge, StageConfig, StageSpec, Verdict, judge_of_config


class LongFilesConfig(StageConfig):
    max_lines: int = Field(MAX_LINES, gt=0, description="drop when the file has more lines than this")


class LongFilesJudge(EachJudge):
    config: LongFilesConfig

    def judge_one(self, doc: dict) -> Verdict:
        lines = line_count(doc["content"])
        if not too_long(lines, self.config.max_lines):
            return Verdict(scores={"num_lines": lines})
        detail = {"num_lines": lines, "max_lines": self.config.max_lines}
        return Verdict(keep=False, reason="too_many_lines", detail=detail, scores={"num_lines": lines})


SPEC = StageSpec(
    name="long_files",
    config=LongFilesConfig,
    make_judge=judge_of_config(LongFilesJudge),
    columns={"num_lines": "int64"},
)
