"""Stage ``encoded_data``: drop files that are mostly, or hold long runs of, encoded data (``filters.encoded``).

Two score columns on every document, so both thresholds can be re-decided
without scanning again: ``encoded_fraction`` (characters inside base64 / hex /
``\\uXXXX`` runs over all characters) and ``encoded_longest`` (characters of the
longest run). The ledger ``detail`` has both, the longest run's kind, the
number of runs and the thresholds.
"""

from __future__ import annotations

from pydantic import Field

from filters.encoded import (
    MAX_FRACTION,
    MAX_MATCH_CHARS,
    MIN_BASE64,
    MIN_ESCAPES,
    MIN_HEX_TOKENS,
    EncodedScanner,
    encoded_failure,
)
from pipeline.stages.base import EachJudge, StageConfig, StageSpec, Verdict, judge_of_config

NAME = "encoded_data"


class EncodedDataConfig(StageConfig):
    max_match_chars: int = Field(MAX_MATCH_CHARS, ge=0, description="drop when one run is longer than this")
    max_fraction: float = Field(
        MAX_FRACTION, ge=0, le=1, description="drop when runs cover more than this share"
    )
    min_base64: int = Field(MIN_BASE64, ge=4, description="shortest base64 run counted (characters)")
    min_hex_tokens: int = Field(MIN_HEX_TOKENS, ge=2, description="shortest hex run counted (values)")
    min_escapes: int = Field(MIN_ESCAPES, ge=1, description="fewest \\uXXXX / \\xXX / octal escapes in a run")


class EncodedDataJudge(EachJudge):
    def __init__(self, config: EncodedDataConfig):
        super().__init__(config)
        self.scanner = EncodedScanner(config.min_base64, config.min_hex_tokens, config.min_escapes)

    def judge_one(self, doc: dict) -> Verdict:
        score = self.scanner.score(doc["content"])
        scores = {"encoded_fraction": score.fraction, "encoded_longest": score.longest}
        reason = encoded_failure(score, self.config.max_match_chars, self.config.max_fraction)
        if reason is None:
            return Verdict(scores=scores)
        detail = {
            "encoded_fraction": score.fraction,
            "encoded_longest": score.longest,
            "longest_kind": score.longest_kind,
            "runs": score.matches,
            "max_match_chars": self.config.max_match_chars,
            "max_fraction": self.config.max_fraction,
        }
        return Verdict(keep=False, reason=reason, detail=detail, scores=scores)


SPEC = StageSpec(
    name=NAME,
    config=EncodedDataConfig,
    make_judge=judge_of_config(EncodedDataJudge),
    columns={"encoded_fraction": "float64", "encoded_longest": "int64"},
)
