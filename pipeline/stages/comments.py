"""Stage ``comments``: keep files whose comment-to-code ratio is strictly between two thresholds.

The ratio is written on every document as ``comment_ratio`` (null for
languages the filter does not cover, which are kept, and for unparseable
files) and into the ledger ``detail`` with the thresholds, so a threshold
ablation can re-decide without lexing again (docs/filters.md).

Failures are loud: only :class:`~filters.comments.UnparseableError` (the file
itself cannot be lexed) becomes an ``unparseable`` ledger row. Anything else
(a grammar missing from the worker image, an import error, a lexer bug) raises
and fails the job, naming the document. How many unparseable files a job may
have is the job's rule, not the stage's: ``output.max_unparseable_share``,
checked over the whole job before the output is promoted (``pipeline.finish``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Literal

from pydantic import Field, model_validator

from filters.comments import LANGUAGES, UnparseableError, comment_ratio, keep_comment_ratio
from pipeline.stages.base import EachJudge, StageConfig, StageContext, StageSpec, Verdict

NAME = "comments"


class CommentsConfig(StageConfig):
    min_ratio: float = Field(0.01, ge=0.0, le=1.0, description="kept when comment_ratio > min_ratio")
    max_ratio: float = Field(0.8, ge=0.0, le=1.0, description="kept when comment_ratio < max_ratio")
    lexer: Literal["tree-sitter", "reference"] = Field(
        "tree-sitter",
        description="tree-sitter (fast) or reference (ast+tokenize / Pygments, as bigcode-dataset)",
    )

    @model_validator(mode="after")
    def _ordered(self) -> CommentsConfig:
        if self.min_ratio >= self.max_ratio:
            raise ValueError(f"min_ratio ({self.min_ratio}) must be below max_ratio ({self.max_ratio})")
        return self


class CommentsJudge(EachJudge):
    """Per-document comment ratio and decision; tree-sitter parsers are built once per worker."""

    def __init__(self, min_ratio: float = 0.01, max_ratio: float = 0.8, lexer: str = "tree-sitter"):
        self.min_ratio = min_ratio
        self.max_ratio = max_ratio
        self.lexer = lexer

    def setup(self) -> None:
        if self.lexer == "tree-sitter":
            from filters.comments_treesitter import warm_up

            warm_up()

    def judge_one(self, doc: dict) -> Verdict:
        lang = str(doc.get("lang") or "").lower()
        if lang not in LANGUAGES:
            return Verdict(keep=True, scores={"comment_ratio": None})
        try:
            ratio = comment_ratio(doc.get("content"), lang, self.lexer)
        except UnparseableError as error:
            detail = {"error": str(error), "lexer": self.lexer}
            return Verdict(keep=False, reason="unparseable", detail=detail, scores={"comment_ratio": None})
        except Exception as error:
            where = f"{doc.get('max_stars_repo_name')}/{doc.get('max_stars_repo_path')} (id {doc.get('id')})"
            raise RuntimeError(
                f"stage {NAME}: the {self.lexer} lexer failed on {where}: {error!r}"
            ) from error
        if keep_comment_ratio(ratio, self.min_ratio, self.max_ratio):
            return Verdict(keep=True, scores={"comment_ratio": ratio})
        detail = {
            "comment_ratio": ratio,
            "min_ratio": self.min_ratio,
            "max_ratio": self.max_ratio,
            "lexer": self.lexer,
        }
        reason = "low_comment_ratio" if ratio <= self.min_ratio else "high_comment_ratio"
        return Verdict(keep=False, reason=reason, detail=detail, scores={"comment_ratio": ratio})


def make_judge(config: CommentsConfig, ctx: StageContext) -> Callable[[], CommentsJudge]:
    return functools.partial(CommentsJudge, config.min_ratio, config.max_ratio, config.lexer)


SPEC = StageSpec(
    name=NAME,
    config=CommentsConfig,
    make_judge=make_judge,
    needs=("id", "content", "lang"),
    columns={"comment_ratio": "float64"},
)
