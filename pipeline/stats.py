"""Per-stage, per-language accounting: docs and bytes in / out / removed by reason.

Counts are combined per key inside the pipeline (a few hundred keys at most),
so nothing proportional to the data reaches one worker. The launcher turns
the counts into ``stats.json`` after the run, adding the config, versions,
wall time and the CPU time each stage spent (from Beam metrics).
"""

from __future__ import annotations

import importlib.metadata
import json
from collections.abc import Iterable, Sequence
from typing import Any

import apache_beam as beam

from pipeline.ids import DIGEST_MODULUS, format_digest

VERSIONED_PACKAGES = (
    "stackcurate",
    "apache-beam",
    "pyarrow",
    "numpy",
    "datasets",
    "huggingface_hub",
    "datasketch",
    "presidio-analyzer",
    "detect-secrets",
    "pyahocorasick",
    "tokenizers",
    "pygments",
    "tree-sitter",
    "torch",
    "transformers",
)


def _add(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    return a[0] + b[0], a[1] + b[1]


class _SumPairs(beam.CombineFn):
    def create_accumulator(self) -> tuple[int, int]:
        return 0, 0

    def add_input(self, acc: tuple[int, int], value: tuple[int, int]) -> tuple[int, int]:
        return _add(acc, value)

    def merge_accumulators(self, accs: Iterable[tuple[int, int]]) -> tuple[int, int]:
        total = (0, 0)
        for acc in accs:
            total = _add(total, acc)
        return total

    def extract_output(self, acc: tuple[int, int]) -> tuple[int, int]:
        return acc


CountKey = tuple[str, str, str, str]


def batch_counts(
    stage: str, kind: str, langs: Sequence[str], sizes: Sequence[int], reasons: Sequence[str] | None = None
) -> list[tuple[CountKey, tuple[int, int]]]:
    """One batch's (stage, lang, kind, reason) -> (docs, bytes) pairs, summed in the batch: counting
    costs one small record per key and batch, not one per document."""
    totals: dict[CountKey, tuple[int, int]] = {}
    for row, lang in enumerate(langs):
        key = (stage, lang or "unknown", kind, reasons[row] if reasons is not None else "")
        docs, size = totals.get(key, (0, 0))
        totals[key] = (docs + 1, size + int(sizes[row]))
    return list(totals.items())


class _SumDigest(beam.CombineFn):
    def create_accumulator(self) -> int:
        return 0

    def add_input(self, acc: int, part: int) -> int:
        return (acc + part) % DIGEST_MODULUS

    def merge_accumulators(self, accs: Iterable[int]) -> int:
        return sum(accs) % DIGEST_MODULUS

    def extract_output(self, acc: int) -> str:
        return format_digest(acc)


class DigestParts(beam.PTransform):
    """Per-batch digest parts -> one string: the order-independent digest of all input ids."""

    def expand(self, parts: beam.PCollection) -> beam.PCollection:
        return parts | beam.CombineGlobally(_SumDigest())


class CombineCounts(beam.PTransform):
    """Flattened (key, (docs, bytes)) pairs -> one JSON text of all counts (small)."""

    def expand(self, pairs: beam.PCollection) -> beam.PCollection:
        return (
            pairs
            | "Sum" >> beam.CombinePerKey(_SumPairs())
            | "All" >> beam.combiners.ToList()
            | "Json" >> beam.Map(lambda items: json.dumps(sorted([list(k), list(v)] for k, v in items)))
        )


def _entry(langs: dict[str, Any], lang: str) -> dict[str, Any]:
    return langs.setdefault(lang, {"docs_in": 0, "bytes_in": 0, "docs_out": 0, "bytes_out": 0, "removed": {}})


def assemble(counts: list, order: list[str]) -> list[dict[str, Any]]:
    """Counts -> the ``stages`` list of stats.json, in pipeline order.

    Only the first stage's input is counted in the pipeline: every later stage's
    input is the previous stage's output, so it is taken from there.
    """
    stages: dict[str, dict[str, Any]] = {name: {"name": name, "langs": {}} for name in order}
    for (stage, lang, kind, reason), (docs, size) in counts:
        entry = _entry(stages.setdefault(stage, {"name": stage, "langs": {}})["langs"], lang)
        if kind == "in":
            entry["docs_in"] += docs
            entry["bytes_in"] += size
        elif kind == "out":
            entry["docs_out"] += docs
            entry["bytes_out"] += size
        elif kind == "modified":
            entry["docs_modified"] = entry.get("docs_modified", 0) + docs
        else:
            bucket = entry["removed"].setdefault(reason, {"docs": 0, "bytes": 0})
            bucket["docs"] += docs
            bucket["bytes"] += size
    ordered = [stages[name] for name in order if name in stages]
    for previous, stage in zip(ordered, ordered[1:], strict=False):
        for lang, out in previous["langs"].items():
            if out["docs_out"]:
                entry = _entry(stage["langs"], lang)
                entry["docs_in"], entry["bytes_in"] = out["docs_out"], out["bytes_out"]
    for stage in ordered:
        stage["langs"] = dict(sorted(stage["langs"].items()))
    return ordered


def versions() -> dict[str, str]:
    found = {}
    for name in VERSIONED_PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue  # safe: an optional extra that is not installed has no version to record
    return found


def summary_table(stages: list[dict[str, Any]]) -> str:
    """Plain-text table: one line per stage and language."""
    header = f"{'stage':<12} {'lang':<11} {'docs in':>9} {'docs out':>9} {'removed':>8} {'MB in':>8} {'MB out':>8}  top reasons"
    lines = [header, "-" * len(header)]
    for stage in stages:
        for lang, e in stage["langs"].items():
            removed = sum(r["docs"] for r in e["removed"].values())
            top = sorted(e["removed"].items(), key=lambda kv: -kv[1]["docs"])[:3]
            parts = [f"modified={e['docs_modified']}"] if e.get("docs_modified") else []
            reasons = ", ".join(parts + [f"{name}={r['docs']}" for name, r in top])
            lines.append(
                f"{stage['name']:<12} {lang:<11} {e['docs_in']:>9} {e['docs_out']:>9} {removed:>8} "
                f"{e['bytes_in'] / 1e6:>8.2f} {e['bytes_out'] / 1e6:>8.2f}  {reasons}"
            )
    return "\n".join(lines)
