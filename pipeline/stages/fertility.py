"""Stage ``fertility``: drop files whose characters per token are below their language's cutoff.

The tokenizer is ``stages.fertility.tokenizer`` (a ``tokenizer.json``, a
folder holding one, local or ``gs://`` / ``s3://`` / ``hf://``, or a Hub id)
or else ``--tokenizer``. A local one is read when the graph is built and
travels with the stage as its JSON (``tokenizer.load``), so no worker needs
the launching machine's path; it is loaded once per worker process
(the judge's ``setup``) and documents are encoded in batches with ``encode_batch``,
which is safe from several threads. Every document gets ``num_tokens`` (int64) and
``char_token_ratio`` (float64) columns; the ledger ``detail`` holds both with
the cutoff. Languages without a cutoff are kept (their scores are still set).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

from pydantic import Field

from filters.fertility import DEFAULT_CUTOFFS, CharTokenRatio, keep_fertility
from pipeline.stages.base import ConfigError, StageConfig, StageContext, StageSpec, Verdict
from tokenizer.load import TokenizerRef, tokenizer_ref

NAME = "fertility"


class FertilityConfig(StageConfig):
    tokenizer: str | None = Field(
        None, description="tokenizer.json or a folder holding one (local, gs://, s3://, hf://), or a Hub id"
    )
    cutoffs: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_CUTOFFS))
    batch_size: int = Field(256, gt=0, description="documents per encode_batch call")


class FertilityJudge:
    def __init__(self, tokenizer: TokenizerRef, cutoffs: dict[str, float], batch_size: int = 256):
        self.cutoffs = {lang.lower(): value for lang, value in cutoffs.items()}
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.ratio: CharTokenRatio | None = None

    def setup(self) -> None:
        if self.ratio is None:
            self.ratio = CharTokenRatio(self.tokenizer.load(), batch_size=self.batch_size)

    def judge(self, docs: Sequence[dict]) -> list[Verdict]:
        self.setup()
        texts = [doc.get("content") or "" for doc in docs]
        verdicts = []
        for doc, (num_tokens, ratio) in zip(docs, self.ratio.scores(texts), strict=True):
            lang = str(doc.get("lang") or "").lower()
            scores = {"char_token_ratio": ratio, "num_tokens": num_tokens}
            if keep_fertility(ratio, lang, self.cutoffs):
                verdicts.append(Verdict(keep=True, scores=scores))
                continue
            detail = {"char_token_ratio": ratio, "num_tokens": num_tokens, "cutoff": self.cutoffs[lang]}
            reason = "low_char_token_ratio" if num_tokens else "no_tokens"
            verdicts.append(Verdict(keep=False, reason=reason, detail=detail, scores=scores))
        return verdicts


def resolve_tokenizer(config: FertilityConfig, ctx: StageContext) -> str:
    tokenizer = config.tokenizer or ctx.tokenizer
    if not tokenizer:
        raise ConfigError(
            "stage fertility is enabled but no tokenizer is given: set stages.fertility.tokenizer "
            "(a tokenizer.json, a folder holding one, a gs:// / s3:// / hf:// URL or a Hub id) or pass --tokenizer"
        )
    return tokenizer


def make_judge(config: FertilityConfig, ctx: StageContext) -> Callable[[], FertilityJudge]:
    return functools.partial(
        FertilityJudge,
        tokenizer=tokenizer_ref(resolve_tokenizer(config, ctx)),
        cutoffs=config.cutoffs,
        batch_size=config.batch_size,
    )


SPEC = StageSpec(
    name=NAME,
    config=FertilityConfig,
    make_judge=make_judge,
    columns={"char_token_ratio": "float64", "num_tokens": "int64"},
)
