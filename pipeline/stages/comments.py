"""Stage ``comments``: keep files whose comment-to-code ratio is strictly between two thresholds.

The ratio is written on every document as ``comment_ratio`` (null for
languages the filter does not cover, which are kept, and for unparseable
files) and into the ledger ``detail`` with the thresholds, so a threshold
ablation can re-decide without lexing again (docs/filters.md).

Failures are loud: only :class:`~filters.comments.UnparseableError` (the file
itself cannot be lexed) becomes an ``unparseable`` ledger row. Anything else
(a grammar missing from the worker image, an import error, a lexer bug) raises
and fails the job, naming the document. And a worker whose documents are mostly
unparseable stops the job (``max_unparseable_fraction``): that many broken
files means wrong input or a broken environment, not code to filter.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from typing import Literal

from pydantic import Field, model_validator

from filters.comments import LANGUAGES, UnparseableError, comment_ratio, keep_comment_ratio
from pipeline.stages.base import StageConfig, StageContext, StageSpec, Verdict

NAME = "comments"
# The bound is checked once a worker has judged this many covered documents: a few broken files in the
# first batches (batches can hold a single document) must not fail a job.
BOUND_MIN_DOCS = 100


class CommentsConfig(StageConfig):
    min_ratio: float = Field(0.01, ge=0.0, le=1.0, description="kept when comment_ratio > min_ratio")
    max_ratio: float = Field(0.8, ge=0.0, le=1.0, description="kept when comment_ratio < max_ratio")
    lexer: Literal["tree-sitter", "reference"] = Field(
        "tree-sitter",
        description="tree-sitter (fast) or reference (ast+tokenize / Pygments, as bigcode-dataset)",
    )
    max_unparseable_fraction: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="fail the job when a worker finds more than this share of its Python/Java/JS files "
        f"unparseable (checked from its {BOUND_MIN_DOCS}th such file on)",
    )
    batch_size: int = Field(64, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> CommentsConfig:
        if self.min_ratio >= self.max_ratio:
            raise ValueError(f"min_ratio ({self.min_ratio}) must be below max_ratio ({self.max_ratio})")
        return self


class UnparseableShareError(RuntimeError):
    """Too many of a worker's files were unparseable: the input or the environment is wrong."""


class CommentsJudge:
    """Per-document comment ratio and decision; tree-sitter parsers are built once per worker.

    The judge also counts, per worker process (the judge is shared by the process's threads),
    how many covered files it judged and how many were unparseable, and raises
    :class:`UnparseableShareError` when the share passes ``max_unparseable_fraction``. Counting
    per worker works on any runner without a global aggregation step: a broken worker image or
    wrong input makes every worker's share high, so the first worker past ``BOUND_MIN_DOCS``
    files fails the job (and a retried bundle fails again, the counts persisting).
    """

    def __init__(
        self,
        min_ratio: float = 0.01,
        max_ratio: float = 0.8,
        lexer: str = "tree-sitter",
        max_unparseable_fraction: float = 0.5,
    ):
        self.min_ratio = min_ratio
        self.max_ratio = max_ratio
        self.lexer = lexer
        self.max_unparseable_fraction = max_unparseable_fraction
        self.judged = self.unparseable = 0
        self._lock = threading.Lock()

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

    def judge(self, docs: Sequence[dict]) -> list[Verdict]:
        verdicts = [self.judge_one(doc) for doc in docs]
        judged = sum(v.scores["comment_ratio"] is not None or v.reason == "unparseable" for v in verdicts)
        self._count(judged, sum(v.reason == "unparseable" for v in verdicts))
        return verdicts

    def _count(self, judged: int, unparseable: int) -> None:
        with self._lock:
            self.judged += judged
            self.unparseable += unparseable
            total, bad = self.judged, self.unparseable
        if total >= BOUND_MIN_DOCS and bad > self.max_unparseable_fraction * total:
            raise UnparseableShareError(
                f"stage {NAME}: {bad} of the {total} Python/Java/JavaScript files this worker judged "
                f"({bad / total:.1%}) are unparseable, above max_unparseable_fraction "
                f"{self.max_unparseable_fraction}: check the input's lang column and contents, "
                f"or raise stages.{NAME}.max_unparseable_fraction"
            )


def make_judge(config: CommentsConfig, ctx: StageContext) -> Callable[[], CommentsJudge]:
    return functools.partial(
        CommentsJudge,
        min_ratio=config.min_ratio,
        max_ratio=config.max_ratio,
        lexer=config.lexer,
        max_unparseable_fraction=config.max_unparseable_fraction,
    )


SPEC = StageSpec(
    name=NAME,
    config=CommentsConfig,
    make_judge=make_judge,
    needs=("id", "content", "lang"),
    columns={"comment_ratio": "float64"},
)
