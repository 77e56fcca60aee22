"""Beam wrapper of PII redaction (``pii.detect`` + ``pii.redact``).

Every document is kept; redacted ones get new content, ``pii_redacted=True``
and one ``modified/pii/`` row with counts per entity type (never a value).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pipeline.stages.base import StageConfig, StageSpec, Verdict, judge_of_config

Entity = Literal["email", "ip_address", "key"]


class PiiConfig(StageConfig):
    entities: list[Entity] = ["email", "ip_address", "key"]  # which entity types are redacted
    prescan: bool = True  # skip the detectors on files / lines with no candidate (same output, faster)
    # "stackcurate": our replacements (keys keep their shape, not their type prefix; the stage is idempotent);
    # "bigcode": bigcode-dataset's fixed replacement pools, for runs that must match BigCode's data.
    replacements: Literal["stackcurate", "bigcode"] = "stackcurate"


class PiiJudge:
    """Builds (or reuses) the process's Presidio engine in ``setup``; redacts documents in ``judge``."""

    def __init__(self, cfg: PiiConfig):
        self.entities = frozenset(cfg.entities)
        self.prescan = cfg.prescan
        self.replacements = cfg.replacements
        self.detector = None

    def setup(self) -> None:
        from pii.detect import PiiDetector  # heavy import (Presidio): on the worker, not at pipeline build

        self.detector = PiiDetector(use_prescan=self.prescan)  # the engine is shared by the process's judges

    def judge(self, docs: Sequence[dict]) -> list[Verdict]:
        from pii.redact import ledger_counts, redact

        if self.detector is None:
            self.setup()
        verdicts = []
        for doc in docs:
            content = doc.get("content")
            if not isinstance(content, str) or not content:
                verdicts.append(Verdict(scores={"pii_redacted": False}))
                continue
            findings = [f for f in self.detector.detect(content).findings if f.entity in self.entities]
            new_content, counts = redact(content, findings, doc["id"], self.replacements)
            if not counts:
                verdicts.append(Verdict(scores={"pii_redacted": False}))
                continue
            verdicts.append(
                Verdict(content=new_content, scores={"pii_redacted": True}, modified=ledger_counts(counts))
            )
        return verdicts


def build_engine() -> None:
    """The process's Presidio engine (``pii.detect.shared_engine``): the same for every configuration."""
    from pii.detect import shared_engine

    shared_engine()


SPEC = StageSpec(
    name="pii",
    config=PiiConfig,
    make_judge=judge_of_config(PiiJudge),
    columns={"pii_redacted": "bool"},
    setup_on_node=build_engine,
)
