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


DIGEST_PART = None  # the key of an input batch's ids digest part among the count pairs


class _Totals(beam.CombineFn):
    """Count pairs and ids digest parts (keyed ``DIGEST_PART``) -> (counts JSON, ids digest)."""

    def create_accumulator(self) -> tuple[dict, int]:
        return {}, 0

    def add_input(self, acc: tuple[dict, int], pair: tuple[CountKey | None, Any]) -> tuple[dict, int]:
        counts, digest = acc
        key, value = pair
        if key is DIGEST_PART:
            return counts, (digest + value) % DIGEST_MODULUS
        counts[key] = _add(counts.get(key, (0, 0)), value)
        return counts, digest

    def merge_accumulators(self, accs: Iterable[tuple[dict, int]]) -> tuple[dict, int]:
        counts: dict = {}
        digest = 0
        for part, part_digest in accs:
            for key, value in part.items():
                counts[key] = _add(counts.get(key, (0, 0)), value)
            digest = (digest + part_digest) % DIGEST_MODULUS
        return counts, digest

    def extract_output(self, acc: tuple[dict, int]) -> tuple[str, str]:
        counts, digest = acc
        return json.dumps(sorted([list(k), list(v)] for k, v in counts.items())), format_digest(digest)


class CombineTotals(beam.PTransform):
    """Flattened count pairs and digest parts -> one (counts JSON, ids digest): both small.

    One global combine rather than one per kind (and a per-key sum before it): each combine is a few
    Beam stages, and a local run pays ~25-50 ms of serial time per stage (docs/dataflow.md §4). Without
    Beam's default for an empty input (a stage of its own): the caller sends at least one pair (the
    graph sends the digest part of no ids), so a job that reads no document still writes both files.
    """

    def expand(self, pairs: beam.PCollection) -> beam.PCollection:
        return pairs | beam.CombineGlobally(_Totals()).without_defaults()


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
