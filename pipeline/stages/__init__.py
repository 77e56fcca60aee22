"""Stage registry: every stage lives in ``pipeline/stages/<name>.py`` and exposes ``SPEC``.

The pipeline runs the enabled stages in ``ORDER`` (the order of DESIGN.md),
whatever order the config lists them in.
"""

from __future__ import annotations

import importlib

from pipeline.stages.base import StageSpec

ORDER: tuple[str, ...] = (
    "validate",
    "optout",
    "exact_dedup",
    "basic",
    "near_dedup",
    "pii",
    "decontam",
    "stars",
    "comments",
    "fertility",
    "score",
)


def load_spec(name: str) -> StageSpec:
    """The ``StageSpec`` of a stage, or a clear error for an unknown name."""
    if name not in ORDER:
        raise ValueError(f"unknown stage {name!r}; known stages: {', '.join(ORDER)}")
    module = importlib.import_module(f"pipeline.stages.{name}")
    return module.SPEC
