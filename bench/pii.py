"""MB/s per core of PII detection + redaction, with and without the pre-scan.

    python -m bench.pii [--sample-dir DIR] [--mb 4] [--repeat 1]

Documents come from ``--sample-dir`` (a ``pipeline.sample`` output: Stack-format
parquet files) or, without it, from a fresh ``pipeline.sample.build_sample``
of ``--mb`` MB (real stdlib / npm / JDK code with planted cases). Times are
CPU seconds of this process (``time.process_time``), so MB/s is per core;
setup (Presidio import, engine build) is reported apart, since a worker pays
it once. On a shared machine the figures are noisy.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq


def load_contents(sample_dir: Path) -> list[tuple[str, str]]:
    """(path, content) of every row with string content."""
    rows = []
    for part in sorted(sample_dir.glob("*.parquet")):
        table = pq.read_table(part, columns=["max_stars_repo_path", "content"])
        rows += [(p, c) for p, c in zip(*table.to_pydict().values(), strict=True) if isinstance(c, str)]
    return rows


def measure(contents: list[tuple[str, str]], use_prescan: bool, repeat: int = 1) -> dict:
    """CPU seconds and MB/s of ``PiiDetector.detect`` + ``redact`` over all documents."""
    from pii.detect import PiiDetector
    from pii.prescan import families
    from pii.redact import redact

    started = time.process_time()
    detector = PiiDetector(use_prescan=use_prescan)
    setup = time.process_time() - started
    total_bytes = sum(len(c.encode("utf-8", "surrogatepass")) for _, c in contents) * repeat
    changed = 0
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        changed = 0
        for path, content in contents:
            new, counts = redact(content, detector.detect(content).findings, path)
            changed += bool(counts)
        best = min(best, time.process_time() - started)
    no_candidate = sum(1 for _, c in contents if not families(c))
    return {
        "prescan": use_prescan,
        "setup_cpu_s": round(setup, 2),
        "cpu_s": round(best, 2),
        "mb": round(total_bytes / repeat / 1e6, 3),
        "mb_per_s_per_core": round(total_bytes / repeat / 1e6 / best, 3),
        "docs": len(contents),
        "docs_modified": changed,
        "docs_without_candidate": no_candidate,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sample-dir", type=Path, default=None)
    parser.add_argument(
        "--mb", type=float, default=4.0, help="size of the sample to build without --sample-dir"
    )
    parser.add_argument("--repeat", type=int, default=1, help="best of N passes")
    args = parser.parse_args(argv)
    sample_dir = args.sample_dir
    if sample_dir is None:
        from pipeline.sample import build_sample

        sample_dir = build_sample(Path(tempfile.mkdtemp(prefix="bench-pii-")), size_mb=args.mb, seed=0)
    contents = load_contents(sample_dir)
    langs = Counter(Path(p).suffix for p, _ in contents)
    print(f"{len(contents)} documents from {sample_dir} ({dict(langs)})")
    for use_prescan in (True, False):
        row = measure(contents, use_prescan, args.repeat)
        print(
            f"prescan={str(row['prescan']):<5}  {row['mb_per_s_per_core']:.3f} MB/s per core"
            f"  ({row['mb']} MB in {row['cpu_s']} CPU s; setup {row['setup_cpu_s']} CPU s;"
            f" {row['docs_modified']}/{row['docs']} docs modified;"
            f" {row['docs_without_candidate']} docs with no candidate)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
