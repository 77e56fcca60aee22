"""Precision and recall of PII detection per entity type, and what it does to code with no planted PII.

Two labelled sources:

* the labelled set in ``pii/fixtures/labelled/`` (``labels.json``, package data): Python,
  Java and JS files with real-format fake secrets, every one listed, plus
  hard-negative files where every non-blank line is a trap that must stay
  unchanged;
* a sample from ``samplegen.sample`` (``truth.json``: planted emails, IPs, keys).

A label counts as found when a finding of the same type overlaps it; a
finding is a true positive when it overlaps a label of its type. On the
sample's unplanted files (real stdlib / npm / JDK code) every finding is
listed with its context so a person can read them and judge the share of
real PII (``--show``).

    python -m pii.evaluate [--labelled DIR] [--sample DIR] [--show N] [--json OUT]
"""

from __future__ import annotations

import json
import random
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cli.command import CliParser, run_cli
from pii.entities import EMAIL, IP_ADDRESS, KEY

if TYPE_CHECKING:
    from pii.detect import Finding, PiiDetector

ENTITIES = (EMAIL, IP_ADDRESS, KEY)
_SCAFFOLDING = re.compile(r"^\s*(?:[{}()\[\];]+|(?:public |final )*class \w+.*|package .*|'use strict';)\s*$")
DEFAULT_LABELLED = Path(__file__).resolve().parent / "fixtures" / "labelled"


@dataclass
class LabelledDoc:
    id: str
    path: str
    content: str
    labels: list[tuple[str, str]]  # (entity, value)


@dataclass
class Scores:
    found: Counter = field(default_factory=Counter)  # labels overlapped by a finding of their type
    labels: Counter = field(default_factory=Counter)
    true_findings: Counter = field(default_factory=Counter)
    findings: Counter = field(default_factory=Counter)
    missed: list[tuple[str, str, str]] = field(default_factory=list)  # (doc path, entity, value prefix)
    false: list[tuple[str, str, str]] = field(default_factory=list)

    def recall(self, entity: str) -> float:
        return self.found[entity] / self.labels[entity] if self.labels[entity] else float("nan")

    def precision(self, entity: str) -> float:
        return self.true_findings[entity] / self.findings[entity] if self.findings[entity] else float("nan")

    def table(self) -> dict[str, dict[str, float | int]]:
        return {
            e: {
                "labels": self.labels[e],
                "found": self.found[e],
                "recall": round(self.recall(e), 4),
                "findings": self.findings[e],
                "precision": round(self.precision(e), 4),
            }
            for e in ENTITIES
        }


def label_spans(content: str, labels: list[tuple[str, str]]) -> list[tuple[int, int, str]]:
    """Every occurrence of every labelled value as ``(start, end, entity)``."""
    spans = []
    for entity, value in labels:
        pos = content.find(value)
        if pos < 0:
            raise ValueError(f"labelled value of type {entity} not in its document")
        while pos >= 0:
            spans.append((pos, pos + len(value), entity))
            pos = content.find(value, pos + len(value))
    return spans


def overlaps(a_start: int, a_end: int, b_start: int, b_end: int) -> bool:
    """Whether two spans share a character: what makes a finding count for a label."""
    return a_start < b_end and b_start < a_end


def score_document(doc: LabelledDoc, findings: list[Finding], scores: Scores) -> None:
    spans = label_spans(doc.content, doc.labels)
    for start, end, entity in spans:
        scores.labels[entity] += 1
        if any(f.entity == entity and overlaps(start, end, f.start, f.end) for f in findings):
            scores.found[entity] += 1
        else:
            scores.missed.append((doc.path, entity, doc.content[start:end][:12]))
    for f in findings:
        scores.findings[f.entity] += 1
        if any(entity == f.entity and overlaps(start, end, f.start, f.end) for start, end, entity in spans):
            scores.true_findings[f.entity] += 1
        else:
            scores.false.append((doc.path, f.entity, finding_context(doc.content, f)))


def finding_context(content: str, finding: Finding, width: int = 50) -> str:
    """The finding between [[ ]] with ``width`` characters either side, on one line (for reading by eye)."""
    before = content[max(0, finding.start - width) : finding.start]
    after = content[finding.end : finding.end + width]
    return (before + "[[" + content[finding.start : finding.end][:80] + "]]" + after).replace("\n", "\\n")


def load_labelled(directory: Path) -> tuple[list[LabelledDoc], list[tuple[str, str]]]:
    """Positive documents and hard-negative cases ``(file, line)`` of the labelled set."""
    spec = json.loads((directory / "labels.json").read_text())
    docs = []
    for rel, labels in sorted(spec["positives"].items()):
        content = (directory / rel).read_text(encoding="utf-8")
        docs.append(
            LabelledDoc(id=rel, path=rel, content=content, labels=[(x["type"], x["value"]) for x in labels])
        )
    negatives = []
    for rel in sorted(spec["hard_negatives"]):
        for line in (directory / rel).read_text(encoding="utf-8").splitlines():
            if line.strip() and not _SCAFFOLDING.match(line):
                negatives.append((rel, line))
    return docs, negatives


def hard_negative_alterations(
    detector: PiiDetector, negatives: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    """The hard-negative lines a redaction would change (each file is scanned whole, as in the pipeline)."""
    from pii.redact import redact

    by_file: dict[str, list[str]] = {}
    for rel, line in negatives:
        by_file.setdefault(rel, []).append(line)
    altered = []
    for rel, lines in by_file.items():
        content = "\n".join(lines) + "\n"
        new_content, _ = redact(content, detector.detect(content).findings, rel)
        for old, new in zip(lines, new_content.split("\n"), strict=False):
            if old != new:
                altered.append((rel, old.strip()))
    return altered


def load_sample(sample_dir: Path) -> tuple[list[dict], list[dict]]:
    """Sample rows (id, path, lang, content) and its planted PII from ``truth.json``."""
    import pyarrow.parquet as pq

    rows = []
    for part in sorted(sample_dir.glob("*.parquet")):
        table = pq.read_table(part, columns=["max_stars_repo_name", "max_stars_repo_path", "content"])
        rows.extend(table.to_pylist())
    truth = json.loads((sample_dir / "truth.json").read_text())
    return rows, truth.get("pii", [])


def evaluate_sample(detector: PiiDetector, sample_dir: Path, show: int = 0, seed: int = 0) -> dict:
    rows, planted = load_sample(sample_dir)
    # The sample has no id column (ids are the pipeline's, which pii/ does not import): a planted value is
    # random, so the rows holding it are the rows it was planted in.
    labels_by_row: dict[int, list[tuple[str, str]]] = {}
    for item in planted:
        holders = [
            i
            for i, row in enumerate(rows)
            if isinstance(row["content"], str) and item["value"] in row["content"]
        ]
        if not holders:
            raise ValueError(f"planted {item['type']} of {item['id']} is in no sample row")
        for i in holders:
            labels_by_row.setdefault(i, []).append((item["type"], item["value"]))
    scores = Scores()
    unplanted_modified: list[tuple[str, list[Finding], str]] = []
    unplanted_docs = unplanted_bytes = 0
    for i, row in enumerate(rows):
        content = row["content"]
        if not isinstance(content, str):
            continue
        findings = detector.detect(content).findings
        if i in labels_by_row:
            doc = LabelledDoc(str(i), row["max_stars_repo_path"], content, labels_by_row[i])
            planted_spans = label_spans(content, doc.labels)
            # Real code around a planted value may hold real PII too: score only findings on planted lines.
            score_document(doc, [f for f in findings if _near_any(f, planted_spans)], scores)
        else:
            unplanted_docs += 1
            unplanted_bytes += len(content.encode("utf-8"))
            if findings:
                unplanted_modified.append((row["max_stars_repo_path"], findings, content))
    per_type = Counter(f.entity for _, findings, _ in unplanted_modified for f in findings)
    result = {
        "planted": scores.table(),
        "missed_planted": scores.missed,
        "unplanted_docs": unplanted_docs,
        "unplanted_mb": round(unplanted_bytes / 1e6, 3),
        "unplanted_modified_docs": len(unplanted_modified),
        "unplanted_findings_per_type": dict(per_type),
    }
    if show:
        rng = random.Random(seed)
        picks = rng.sample(unplanted_modified, min(show, len(unplanted_modified)))
        result["unplanted_examples"] = [
            {
                "path": path,
                "findings": [f"{f.entity}/{f.source}: {finding_context(content, f)}" for f in findings],
            }
            for path, findings, content in picks
        ]
    return result


def _near_any(finding: Finding, spans: list[tuple[int, int, str]], slack: int = 200) -> bool:
    return any(overlaps(finding.start, finding.end, start - slack, end + slack) for start, end, _ in spans)


def evaluate_labelled(detector: PiiDetector, directory: Path) -> dict:
    docs, negatives = load_labelled(directory)
    scores = Scores()
    for doc in docs:
        score_document(doc, detector.detect(doc.content).findings, scores)
    altered = hard_negative_alterations(detector, negatives)
    return {
        "per_type": scores.table(),
        "missed": scores.missed,
        "false_positives": scores.false,
        "hard_negatives": len(negatives),
        "hard_negatives_altered": len(altered),
        "hard_negatives_altered_share": round(len(altered) / len(negatives), 4) if negatives else 0.0,
        "altered_lines": altered,
    }


def build_parser() -> CliParser:
    parser = CliParser(prog="python -m pii.evaluate", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--labelled", type=Path, default=DEFAULT_LABELLED, help="labelled set (labels.json)")
    parser.add_argument("--sample", type=Path, default=None, help="a samplegen.sample output with truth.json")
    parser.add_argument("--show", type=int, default=0, help="print N modified unplanted sample files to read")
    parser.add_argument("--json", type=Path, default=None, help="write the full result here")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    started = time.perf_counter()
    from pii.detect import PiiDetector  # here: --help answers without the detector's imports

    detector = PiiDetector()
    result: dict = {"setup_seconds": round(time.perf_counter() - started, 2)}
    if args.labelled and (args.labelled / "labels.json").exists():
        result["labelled"] = evaluate_labelled(detector, args.labelled)
    if args.sample:
        result["sample"] = evaluate_sample(detector, args.sample, show=args.show)
    result["seconds"] = round(time.perf_counter() - started, 2)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, ensure_ascii=False))
    _print_summary(result)
    return 0


def _print_summary(result: dict) -> None:
    out = sys.stdout
    for name, key in (("labelled set", "labelled"), ("sample (planted)", "sample")):
        if key not in result:
            continue
        table = result[key]["per_type"] if key == "labelled" else result[key]["planted"]
        out.write(f"== {name}\n")
        for entity, row in table.items():
            out.write(
                f"  {entity:<11} recall {row['recall']:.3f} ({row['found']}/{row['labels']})"
                f"  precision {row['precision']:.3f} ({row['findings']} findings)\n"
            )
    if "labelled" in result:
        lab = result["labelled"]
        out.write(
            f"  hard negatives altered: {lab['hard_negatives_altered']}/{lab['hard_negatives']}"
            f" = {lab['hard_negatives_altered_share']:.3f}\n"
        )
        for rel, line in lab["altered_lines"]:
            out.write(f"    altered {rel}: {line[:100]}\n")
        for rel, entity, ctx in lab["false_positives"]:
            out.write(f"    false positive {rel} {entity}: {ctx[:140]}\n")
        for rel, entity, prefix in lab["missed"]:
            out.write(f"    missed {rel} {entity}: {prefix}...\n")
    if "sample" in result:
        s = result["sample"]
        out.write(
            f"== sample (unplanted real code): {s['unplanted_modified_docs']}/{s['unplanted_docs']} files modified"
            f" ({s['unplanted_mb']} MB); findings per type {s['unplanted_findings_per_type']}\n"
        )
        for example in s.get("unplanted_examples", []):
            out.write(f"  -- {example['path']}\n")
            for line in example["findings"]:
                out.write(f"     {line[:220]}\n")
    out.write(f"setup {result['setup_seconds']} s, total {result['seconds']} s\n")


if __name__ == "__main__":
    run_cli(main, "pii.evaluate")
