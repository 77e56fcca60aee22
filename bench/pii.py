"""MB/s per core of PII detection + redaction, the share of text Presidio sees, and the fixed start-up.

    python -m bench.pii [--sample-dir DIR] [--mb 4] [--repeat 3] [--no-baseline]

Documents come from ``--sample-dir`` (a ``samplegen.sample`` output: Stack-format
parquet files) or, without it, from a fresh ``samplegen.sample.build_sample``
of ``--mb`` MB (real stdlib / npm / JDK code with planted cases). Times are
CPU seconds of this process (``time.process_time``), so MB/s is per core; the
best of ``--repeat`` passes. Start-up (importing Presidio and building the
engine) is measured in a fresh interpreter, since a worker pays it once per
process; it is printed apart. The run without the pre-scan (every line through
every detector) is the baseline the pre-scan is measured against. On a shared
machine the figures are noisy: compare runs made together.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq

_STARTUP = """
import sys, time
wall, cpu = time.perf_counter(), time.process_time()
import pii.detect
imported = time.process_time() - cpu
pii.detect.shared_engine()
print(imported, time.process_time() - cpu, time.perf_counter() - wall,
      sorted(m for m in ("torch", "transformers", "spacy") if m in sys.modules))
"""


def load_contents(sample_dir: Path) -> list[tuple[str, str]]:
    """(path, content) of every row with string content."""
    rows = []
    for part in sorted(sample_dir.glob("*.parquet")):
        table = pq.read_table(part, columns=["max_stars_repo_path", "content"])
        rows += [(p, c) for p, c in zip(*table.to_pydict().values(), strict=True) if isinstance(c, str)]
    return rows


def startup() -> dict:
    """Import + engine build in a fresh interpreter: CPU seconds, wall seconds, heavy modules loaded."""
    out = subprocess.run([sys.executable, "-c", _STARTUP], capture_output=True, text=True, check=True)
    imported, cpu, wall, modules = out.stdout.strip().split(" ", 3)
    return {
        "import_cpu_s": round(float(imported), 2),
        "startup_cpu_s": round(float(cpu), 2),
        "startup_wall_s": round(float(wall), 2),
        "modules": modules,
    }


def presidio_share(contents: list[tuple[str, str]]) -> float:
    """Share of the characters the pre-scan hands to Presidio (per family, summed; a line may count twice)."""
    from pii import prescan

    seen = sum(
        len(piece) for _, text in contents for f in prescan.FAMILIES for _, piece in prescan.windows(text, f)
    )
    return seen / max(1, sum(len(text) for _, text in contents))


def measure(contents: list[tuple[str, str]], use_prescan: bool, repeat: int = 1) -> dict:
    """CPU seconds and MB/s of ``PiiDetector.detect`` + ``redact`` over all documents (best of ``repeat``)."""
    from pii.detect import PiiDetector
    from pii.redact import redact

    detector = PiiDetector(use_prescan=use_prescan)
    total_bytes = sum(len(c.encode("utf-8", "surrogatepass")) for _, c in contents)
    changed = 0
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        changed = 0
        for path, content in contents:
            _, counts = redact(content, detector.detect(content).findings, path)
            changed += bool(counts)
        best = min(best, time.process_time() - started)
    return {
        "prescan": use_prescan,
        "cpu_s": round(best, 2),
        "mb": round(total_bytes / 1e6, 3),
        "mb_per_s_per_core": round(total_bytes / 1e6 / best, 2),
        "docs": len(contents),
        "docs_modified": changed,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sample-dir", type=Path, default=None)
    parser.add_argument(
        "--mb", type=float, default=4.0, help="size of the sample to build without --sample-dir"
    )
    parser.add_argument("--repeat", type=int, default=3, help="best of N passes")
    parser.add_argument("--no-baseline", action="store_true", help="skip the (slow) run without the pre-scan")
    args = parser.parse_args(argv)
    sample_dir = args.sample_dir
    if sample_dir is None:
        from samplegen.sample import build_sample

        sample_dir = build_sample(Path(tempfile.mkdtemp(prefix="bench-pii-")), size_mb=args.mb, seed=0)
    contents = load_contents(sample_dir)
    langs = Counter(Path(p).suffix for p, _ in contents)
    print(f"{len(contents)} documents from {sample_dir} ({dict(langs)})")
    boot = startup()
    print(
        f"start-up (fresh process, once per worker): {boot['startup_cpu_s']} CPU s"
        f" ({boot['startup_wall_s']} s wall), of which importing pii.detect {boot['import_cpu_s']} CPU s and"
        f" importing Presidio + building the engine the rest; heavy modules loaded: {boot['modules']}"
    )
    from pii.prescan import families

    no_candidate = sum(1 for _, c in contents if not families(c))
    print(
        f"pre-scan: {no_candidate}/{len(contents)} documents without any candidate;"
        f" Presidio sees {presidio_share(contents):.1%} of the text"
    )
    for use_prescan in (True,) if args.no_baseline else (True, False):
        row = measure(contents, use_prescan, args.repeat if use_prescan else 1)
        print(
            f"prescan={str(row['prescan']):<5}  {row['mb_per_s_per_core']:.2f} MB/s per core"
            f"  ({row['mb']} MB in {row['cpu_s']} CPU s; {row['docs_modified']}/{row['docs']} docs modified)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
