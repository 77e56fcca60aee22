"""Spine throughput: MB per CPU-second of validate + optout + exact_dedup + basic on the sample at 3 sizes.

    python bench/pipeline_throughput.py [--sizes 5,20,80] [--stages optout,exact_dedup,basic] [--preset P]

Each size runs in a fresh subprocess (in_memory FnApiRunner, one worker) so
CPU time and peak memory are that run's alone.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CACHE = ROOT / ".cache" / "bench"


def sample(size_mb: float) -> Path:
    path = CACHE / f"sample-{size_mb:g}mb"
    if not (path / "truth.json").exists():
        from pipeline.sample import build_sample

        build_sample(path, size_mb=size_mb, seed=0)
    return path


def measure(size_mb: float, stages: str | None, preset: str, mode: str, workers: int) -> dict:
    src = sample(size_mb)
    with tempfile.TemporaryDirectory() as out:
        argv = [
            "--input",
            str(src),
            "--output",
            out,
            "--preset",
            preset,
            "--no_report",
            "--quiet",
            "--direct_running_mode",
            mode,
            "--direct_num_workers",
            str(workers),
        ]
        if stages:
            argv += ["--stages", stages]
        if SHARED.exists():
            argv += [
                "--optout_list",
                str(SHARED / "optout/optouts.jsonl"),
                "--benchmarks_dir",
                str(SHARED / "benchmarks"),
            ]
        code = (
            "import json,resource,sys,time;from pipeline.run import run;t=time.time();"
            f"s=run({argv!r});"
            "u=resource.getrusage(resource.RUSAGE_SELF);c=resource.getrusage(resource.RUSAGE_CHILDREN);"
            "print(json.dumps({'cpu':u.ru_utime+u.ru_stime+c.ru_utime+c.ru_stime,'wall':time.time()-t,"
            "'rss_mb':max(u.ru_maxrss,c.ru_maxrss)/1024,'mb':s['input']['bytes']/1e6,"
            "'stages':{x['name']:x['cpu_s'] for x in s['stages']}}))"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
        )
        return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="5,20,80")
    parser.add_argument("--stages", default="optout,exact_dedup,basic")
    parser.add_argument("--preset", default="stack-base")
    parser.add_argument("--mode", default="in_memory", choices=["in_memory", "multi_processing"])
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    print(f"stages={args.stages or 'preset ' + args.preset} mode={args.mode} workers={args.workers}")
    print(
        f"{'MB':>6} {'cpu s':>8} {'wall s':>8} {'MB/cpu-s':>9} {'MB/wall-s':>9} {'peak MB':>8}  cpu s by stage"
    )
    for size in [float(s) for s in args.sizes.split(",")]:
        r = measure(size, args.stages or None, args.preset, args.mode, args.workers)
        by_stage = " ".join(f"{k}={v:.1f}" for k, v in r["stages"].items())
        print(
            f"{r['mb']:>6.1f} {r['cpu']:>8.1f} {r['wall']:>8.1f} {r['mb'] / r['cpu']:>9.2f} "
            f"{r['mb'] / r['wall']:>9.2f} {r['rss_mb']:>8.0f}  {by_stage}",
            flush=True,
        )


if __name__ == "__main__":
    main()
