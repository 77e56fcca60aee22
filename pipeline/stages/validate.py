"""The guard stage: rows that are not usable text become ledger rows with reason ``invalid``.

It runs first in every pipeline so that no later stage meets undecodable,
binary, empty, nameless or oversized content, and nothing is dropped silently.
"""

from __future__ import annotations

from pydantic import Field

from pipeline.stages.base import EachJudge, StageConfig, StageSpec, Verdict, judge_of_config

CONTROL_CHARS = "".join(chr(c) for c in range(32) if chr(c) not in "\t\n\r\f\v")
# counted on the UTF-8 bytes (bytes.translate is ~5x faster than str.translate): a control character is
# one byte there, and no byte of a multi-byte character is below 0x80
_CONTROL_BYTES = CONTROL_CHARS.encode("ascii")


class ValidateConfig(StageConfig):
    enabled: bool = True
    max_bytes: int = Field(1_048_576, gt=0)
    max_control_fraction: float = Field(0.01, ge=0, le=1)


def problem_of(doc: dict, cfg: ValidateConfig) -> dict | None:
    """What is wrong with a document (a ledger detail), or None when it is usable."""
    content = doc.get("content")
    if not doc.get("max_stars_repo_name"):
        return {"problem": "null_repo"}
    if not doc.get("max_stars_repo_path"):
        return {"problem": "null_path"}
    if content is None:
        return {"problem": "null_content"}
    if isinstance(content, bytes):
        try:
            content.decode("utf-8")
        except UnicodeDecodeError as exc:
            return {"problem": "undecodable", "offset": exc.start}
        return {"problem": "not_text", "type": "bytes"}
    if not isinstance(content, str):
        return {"problem": "not_text", "type": type(content).__name__}
    data = content.encode("utf-8")
    size = len(data)
    if size == 0 or not content.strip():
        return {"problem": "empty", "bytes": size}
    if size > cfg.max_bytes:
        return {"problem": "oversized", "bytes": size, "max_bytes": cfg.max_bytes}
    if "\x00" in content:
        return {"problem": "binary", "nul_offset": content.index("\x00")}
    control = size - len(data.translate(None, _CONTROL_BYTES))
    if control > cfg.max_control_fraction * len(content):
        return {"problem": "binary", "control_fraction": round(control / len(content), 4)}
    return None


class ValidateJudge(EachJudge):
    config: ValidateConfig

    def judge_one(self, doc: dict) -> Verdict:
        problem = problem_of(doc, self.config)
        return Verdict() if problem is None else Verdict(keep=False, reason="invalid", detail=problem)


SPEC = StageSpec(
    name="validate",
    config=ValidateConfig,
    make_judge=judge_of_config(ValidateJudge),
    needs=("id", "content", "max_stars_repo_name", "max_stars_repo_path"),
)
