"""What the PII stage would redact in unscreened real code: counts, and findings to read by eye.

The labelled set says how much we find; this says what else we touch. Point
it at code nobody screened for us (an interpreter's stdlib, ``site-packages``,
``node_modules``, a JDK ``src.zip`` unpacked) and read the printed sample.

    python -m pii.scan_tree DIR [DIR ...] [--ext py,js,java] [--mb 50] [--show 40] [--seed 0]
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from cli.command import CliParser, run_cli
from pii.evaluate import finding_context

if TYPE_CHECKING:
    from pii.detect import PiiDetector

MAX_FILE_BYTES = 1 << 20  # the sample builder's limit too


def iter_files(roots: list[Path], exts: set[str], budget_bytes: int, seed: int = 0) -> list[Path]:
    """Files under ``roots`` with one of ``exts``, in a seeded random order, up to ``budget_bytes``."""
    found = []
    for root in roots:
        for directory, _, names in os.walk(root):
            found += [Path(directory, n) for n in names if n.rsplit(".", 1)[-1] in exts]
    found.sort()
    random.Random(seed).shuffle(found)
    picked, total = [], 0
    for path in found:
        try:
            size = path.stat().st_size
        except OSError:
            continue  # safe: a file that vanished or cannot be read is not part of the scanned tree
        if 0 < size <= MAX_FILE_BYTES and path.is_file():
            picked.append(path)
            total += size
            if total >= budget_bytes:
                break
    return picked


def scan(detector: PiiDetector, files: list[Path], show: int = 0, seed: int = 0) -> dict:
    """Findings per entity and per detector over ``files``; ``show`` of them with context."""
    per_entity: Counter = Counter()
    per_source: Counter = Counter()
    files_modified = total_bytes = 0
    examples: list[tuple[str, str, str]] = []
    started = time.process_time()
    for path in files:
        raw = path.read_bytes()
        text = raw.decode("utf-8", "replace")
        total_bytes += len(raw)
        findings = detector.detect(text).findings
        files_modified += bool(findings)
        for finding in findings:
            per_entity[finding.entity] += 1
            per_source[f"{finding.entity}/{finding.source}"] += 1
            examples.append((str(path), f"{finding.entity}/{finding.source}", finding_context(text, finding)))
    cpu = time.process_time() - started
    rng = random.Random(seed)
    return {
        "files": len(files),
        "mb": round(total_bytes / 1e6, 2),
        "cpu_s": round(cpu, 2),
        "files_modified": files_modified,
        "findings_per_entity": dict(per_entity),
        "findings_per_source": dict(per_source.most_common()),
        "examples": rng.sample(examples, min(show, len(examples))),
    }


def build_parser() -> CliParser:
    parser = CliParser(prog="python -m pii.scan_tree", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("roots", type=Path, nargs="+", help="folders to scan (recursively)")
    parser.add_argument("--ext", default="py,js,java", help="file extensions, comma-separated")
    parser.add_argument("--mb", type=float, default=50.0, help="read at most this many MB")
    parser.add_argument("--show", type=int, default=40, help="print this many findings with context")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same result)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    files = iter_files(args.roots, set(args.ext.split(",")), int(args.mb * 1e6), args.seed)
    from pii.detect import PiiDetector  # here: --help answers without the detector's imports

    result = scan(PiiDetector(), files, args.show, args.seed)
    out = sys.stdout
    out.write(
        f"{result['files']} files, {result['mb']} MB, {result['cpu_s']} CPU s:"
        f" {result['files_modified']} files modified; {result['findings_per_entity']}\n"
    )
    for source, count in result["findings_per_source"].items():
        out.write(f"  {source:<45} {count}\n")
    for path, source, context in result["examples"]:
        out.write(f"-- {path}\n   {source}: {context[:240]}\n")
    return 0


if __name__ == "__main__":
    run_cli(main, "pii.scan_tree")
