"""Test data for decontamination: the shared benchmark folder and real code from this machine."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from samplegen.sources import find_sources

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
BENCHMARKS = SHARED / "benchmarks"
needs_shared = pytest.mark.skipif(
    not BENCHMARKS.exists(), reason="../shared/benchmarks is not beside the checkout"
)


def real_code(per_language: int, seed: int = 0) -> list[tuple[str, str]]:
    """(name, text) of ``per_language`` real files each of Python (top-level stdlib modules), JavaScript (npm)
    and Java (``java.util`` of the JDK), from the machine's sources as the sample builder finds them."""
    rng = random.Random(seed)
    sources = find_sources()
    wanted = (
        ("Python", lambda rel: "/" not in rel),
        ("JavaScript", lambda rel: True),
        ("Java", lambda rel: rel.startswith("java.base/java/util/")),
    )
    out: list[tuple[str, str]] = []
    for lang, keep in wanted:
        source = sources.get(lang)
        if source is None:
            continue
        names = [rel for rel, _ in source.files if keep(rel)]
        out += [(rel, source.text(rel)) for rel in rng.sample(names, min(per_language, len(names)))]
    return [(name, text) for name, text in out if text.strip()]
