"""The whole near_dedup stage in Beam (in-process FnApiRunner, one worker): MB per CPU-second and peak memory.

Each size runs in its own subprocess so ``ru_maxrss`` is that run's peak.
Documents: the stdlib's ``.py`` files plus ~15% near-duplicate copies (random
line edits from ``samplegen.cases.mutate``), or ``--sample DIR``.
Documents are read from a JSONL file; CPU seconds are the process's
user+sys time in ``pipeline.run()`` (graph translation, runner, workers),
after a 3-document warm-up (imports, compiled kernels), least of ``--repeat`` runs. The same read-and-count
pipeline without the stage is timed too and subtracted: "stage" is the
stage's own cost. The runner's fixed cost per fused stage dominates small inputs, so the
marginal cost between sizes is printed too: that is the figure that scales.

Memory: FnApiRunner buffers every PCollection between fused stages in its
own process, so a local run's RSS grows with the input whatever a stage does;
"over read-only" is what the stage adds on top of the same runner reading and
counting the input. What one worker holds for this stage is a batch
(``batch_size`` documents' keys and signatures) or one bucket group's entries; the worker that
merges the connected components holds every clustered document's id and label.

    python -m bench.near_dedup [--sizes 8 16 32] [--preset dedup-alt|stack-v1]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

from bench.minhash import load_texts

PRESETS = {
    "dedup-alt": {"ngram": 5, "threshold": 0.7, "verify": False},
    "stack-v1": {"ngram": 1, "threshold": 0.85, "verify": True},
}


def make_docs(mb: float, sample: str | None, seed: int = 0) -> list[dict]:
    from pipeline.ids import doc_id
    from samplegen.cases import mutate

    rng = random.Random(seed)
    texts = load_texts(mb / 1.15, sample)
    texts += [
        mutate(t, "Python", rng.randrange(1, 6), f"bench{i}")
        for i, t in enumerate(texts)
        if rng.random() < 0.15
    ]
    docs = []
    for i, text in enumerate(texts):
        repo, path = f"owner{i % 97}/repo{i % 13}", f"src/file{i}.py"
        docs.append(
            {
                "id": doc_id(repo, path, text),
                "content": text,
                "max_stars_count": rng.choice([None, 0, 1, 5, 50]),
                "max_stars_repo_name": repo,
                "max_stars_repo_path": path,
                "lang": "python",
            }
        )
    return docs


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_one(mb: float, preset: str, sample: str | None, repeat: int) -> dict:
    import tempfile

    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner

    from pipeline.graph import stage_transform
    from pipeline.stages.base import StageContext
    from pipeline.stages.near_dedup import SPEC, NearDedupConfig
    from tests.stage_runner import read_pieces

    docs = make_docs(mb, sample)
    size = sum(len(d["content"].encode()) for d in docs) / 1e6
    config = NearDedupConfig(enabled=True, **PRESETS[preset])
    workdir = Path(tempfile.mkdtemp(prefix="bench_near_dedup_"))

    def write(name: str, batch: list[dict]) -> str:
        path = workdir / name
        path.write_text("".join(json.dumps(d) + "\n" for d in batch))
        return str(path)

    def run(path: str, with_stage: bool):
        """Read JSONL -> [near_dedup] -> count: the same reader with and without the stage, so the
        difference is the stage (``beam.Create`` would pickle and bz2 the whole input into the graph)."""
        pipeline = beam.Pipeline(
            runner=FnApiRunner(), options=PipelineOptions(flags=[], direct_num_workers=1)
        )
        read, schema = read_pieces(pipeline, [json.loads(line) for line in Path(path).read_text().splitlines()],
                                   Path(path).with_suffix(".parts"))  # fmt: skip
        parts = (
            read | stage_transform(SPEC, config, StageContext(), schema, False)
            if with_stage
            else {"kept": read}
        )
        for name, part in parts.items():
            _ = part | f"Count_{name}" >> beam.combiners.Count.Globally()
        start_cpu, start_wall = cpu_seconds(), time.perf_counter()
        result = pipeline.run()
        result.wait_until_finish()
        return result, cpu_seconds() - start_cpu, time.perf_counter() - start_wall

    warm, full = write("warm.jsonl", docs[:3]), write("docs.jsonl", docs)
    run(warm, True)  # warm-up: lazy imports, compiled kernels, caches are not part of the figure
    run(warm, False)
    # Least of `repeat` runs: the runner's fixed cost (GC, thread start-up) varies by a second or so.
    read_cpu = min(run(full, False)[1] for _ in range(repeat))
    read_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result, cpu, wall = min((run(full, True) for _ in range(repeat)), key=lambda r: r[1])
    counts = {c.key.metric.name: c.committed for c in result.metrics().query()["counters"]}
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "docs": len(docs),
        "mb": round(size, 2),
        "cpu_s": round(cpu, 2),
        "read_cpu_s": round(read_cpu, 2),
        "stage_cpu_s": round(cpu - read_cpu, 2),
        "wall_s": round(wall, 2),
        "mb_per_cpu_s": round(size / (cpu - read_cpu), 3),
        "peak_rss_mb": round(peak_mb, 1),
        "stage_rss_mb": round(peak_mb - read_peak_mb, 1),
        "sketched": counts.get("docs_sketched"),
        "short_kept": counts.get("docs_short_kept"),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=float, nargs="+", default=[8.0, 16.0, 32.0], help="MB of text per run"
    )
    parser.add_argument("--preset", choices=sorted(PRESETS), default="dedup-alt")
    parser.add_argument("--sample", default=None)
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; the least CPU time counts")
    parser.add_argument("--one", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one is not None:
        print(json.dumps(run_one(args.one, args.preset, args.sample, args.repeat)))
        return
    print(f"near_dedup preset={args.preset} (FnApiRunner, 1 worker)")
    print(
        f"{'MB':>6} {'docs':>6} {'CPU s':>7} {'read s':>7} {'stage s':>8} {'wall s':>7} "
        f"{'stage MB/CPU-s':>15} {'peak RSS MB':>12} {'over read-only':>15}"
    )
    rows = []
    for size in args.sizes:
        cmd = [sys.executable, "-m", "bench.near_dedup", "--one", str(size), "--preset", args.preset]
        cmd += ["--repeat", str(args.repeat)] + (["--sample", args.sample] if args.sample else [])
        line = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        r = json.loads(line)
        print(
            f"{r['mb']:>6.2f} {r['docs']:>6} {r['cpu_s']:>7.2f} {r['read_cpu_s']:>7.2f} {r['stage_cpu_s']:>8.2f} "
            f"{r['wall_s']:>7.2f} {r['mb_per_cpu_s']:>15.3f} {r['peak_rss_mb']:>12.1f} {r['stage_rss_mb']:>15.1f}"
        )
        rows.append(r)
    # The fixed cost (pipeline construction, per-stage runner overhead) is paid once; the slope is what scales.
    for small, large in zip(rows, rows[1:], strict=False):
        extra = large["stage_cpu_s"] - small["stage_cpu_s"]
        slope = (
            f"{(large['mb'] - small['mb']) / extra:.2f}"
            if extra > 0
            else "n/a (within the fixed cost's noise)"
        )
        print(f"marginal {small['mb']:.2f} -> {large['mb']:.2f} MB: {slope} MB per extra CPU-second")


if __name__ == "__main__":
    main()
