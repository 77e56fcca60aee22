"""Where the santacoder job's wall time goes, Beam stage by Beam stage, with one worker and with two.

    python -m bench.stage_timeline [--size_mb 200] [--workers 1,2] [--rounds 1] [--every_stage]

Why: the two-worker target (wall time <= 0.6 x one worker's, ``bench.pipeline_throughput``) is decided by
what two workers cannot share: start-up, the many small stages FnApiRunner runs one after another, a
stage whose work is one element (the largest shard's writer). For each run (a fresh subprocess of the
whole job on the built-in sample, ``bench.pipeline_throughput.sample``) this prints the start-up (process
start to the first stage), every stage over 0.25 s with its wall time, the CPU of the job's process tree
and the cores that kept busy, the other stages as one line, and the tail (last stage to the end). For a
one- and a two-worker run of one size it then prints, beside the measured ratio, the ratio of a perfect
split: the one-worker run with the stages that two workers sped up halved and all else as it was
(start-up, the small stages, the writer of the largest shard). When the two agree, two workers already
halve all they can, and only a shorter serial part moves the ratio. (A stage whose cores exceed 1 with
one worker runs threads of its own: the writer encodes on one.)

The stages are timed by wrapping ``FnApiRunner._run_bundle`` (one call per fused stage) from an import
hook: Beam internals, used to measure here and nowhere in the product.
"""

from __future__ import annotations

import argparse
import importlib.abc
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.pipeline_throughput import ONE_WORKER, ROOT, TWO_WORKERS, common_argv, job_env, sample

LARGE_S = 0.25  # a stage at least this long is printed by name
SPED_UP = 0.75  # a stage that took at most this share of its one-worker time with two ran on both
FN_RUNNER = "apache_beam.runners.portability.fn_api_runner.fn_runner"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Stage:
    start: float  # seconds since the job's process started
    wall: float
    cpu: float  # CPU seconds of the job's process tree (launcher, zygote, workers) during the stage
    name: str


@dataclass(frozen=True)
class Timeline:
    wall: float
    stages: list[Stage]

    @property
    def start_up(self) -> float:
        return self.stages[0].start if self.stages else self.wall

    @property
    def tail(self) -> float:
        last = self.stages[-1] if self.stages else None
        return self.wall - (last.start + last.wall) if last else 0.0


def tree_cpu(root: int) -> float:
    """CPU seconds (user + system) of ``root`` and every live process below it, from /proc."""
    parents, cpu = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        parents[int(entry)] = int(fields[1])
        cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    tree, grew = {root}, True
    while grew:
        below = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= below
        grew = bool(below)
    return sum(cpu.get(pid, 0.0) for pid in tree)


def stage_label(name: str) -> str:
    """A fused stage's name is its transforms nested in parentheses: the first one's label says which."""
    first = name.lstrip("(").split(")")[0]
    return first.removeprefix("ref_AppliedPTransform_")[:70]


class _TimeStages(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Wraps ``FnApiRunner._run_bundle`` when Beam's runner module is imported, whenever that is: the job
    forks its warm workers before it imports Beam, and importing Beam here first would change that."""

    def __init__(self, launcher: int, started: float, stages: list[Stage]):
        self._launcher, self._started, self._stages = launcher, started, stages
        self._loader: importlib.abc.Loader | None = None

    def find_spec(self, name, path, target=None):  # noqa: ANN001, ANN201 (the import system's signature)
        if name != FN_RUNNER or self._loader is not None:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        self._loader, spec.loader = spec.loader, self
        return spec

    def create_module(self, spec):  # noqa: ANN001, ANN201
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:  # noqa: ANN001
        self._loader.exec_module(module)
        run_bundle = module.FnApiRunner._run_bundle
        launcher, started, stages = self._launcher, self._started, self._stages

        def timed(runner, runner_execution_context, bundle_context_manager, *args, **kwargs):  # noqa: ANN001, ANN202
            if os.getpid() != launcher:  # a forked process: not the launcher's runner
                return run_bundle(runner, runner_execution_context, bundle_context_manager, *args, **kwargs)
            cpu, start = tree_cpu(launcher), time.time()
            try:
                return run_bundle(runner, runner_execution_context, bundle_context_manager, *args, **kwargs)
            finally:
                wall = time.time() - start
                name = bundle_context_manager.stage.name
                stages.append(Stage(start - started, wall, tree_cpu(launcher) - cpu, name))

        module.FnApiRunner._run_bundle = timed


def child(spec: str) -> None:
    """In the job's process: run it with its stages timed, print the timeline as one JSON line."""
    settings = json.loads(spec)
    stages: list[Stage] = []
    sys.meta_path.insert(0, _TimeStages(os.getpid(), settings["started"], stages))
    from pipeline.run import run

    run(settings["argv"])
    wall = time.time() - settings["started"]
    print(json.dumps({"wall": wall, "stages": [vars(s) for s in stages]}))


def job_argv(src: Path, out: str, workers: int) -> list[str]:
    workers_argv = ONE_WORKER if workers == 1 else [*TWO_WORKERS[:-1], str(workers)]
    return [*common_argv(src, out), "--preset", "santacoder", *workers_argv]


def measure(src: Path, workers: int) -> Timeline:
    """One run of the santacoder job in a fresh subprocess, timed stage by stage."""
    env = job_env()
    with tempfile.TemporaryDirectory(prefix="bench-timeline-") as tmp:
        settings = {"argv": job_argv(src, str(Path(tmp, "out")), workers), "started": time.time()}
        code = "import sys; from bench.stage_timeline import child; child(sys.argv[1])"
        command = [sys.executable, "-c", code, json.dumps(settings)]
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{workers} worker(s) on {src.name} failed:\n{done.stderr[-3000:]}")
    found = json.loads(done.stdout.strip().splitlines()[-1])
    return Timeline(found["wall"], [Stage(**s) for s in found["stages"]])


def lines(timeline: Timeline) -> list[str]:
    """The timeline as printed: start-up, the large stages, the others together, the tail."""
    out = [f"  {'start-up (process start to the first stage)':<72} {timeline.start_up:6.2f} s"]
    small = [s for s in timeline.stages if s.wall < LARGE_S]
    for s in timeline.stages:
        if s.wall >= LARGE_S:
            busy = s.cpu / s.wall if s.wall else 0.0
            out.append(f"  {stage_label(s.name):<72} {s.wall:6.2f} s  cpu {s.cpu:6.2f}  cores {busy:4.2f}")
    out.append(f"  {f'{len(small)} other stages':<72} {sum(s.wall for s in small):6.2f} s")
    out.append(f"  {'tail (last stage to the end)':<72} {timeline.tail:6.2f} s")
    out.append(f"  {'wall':<72} {timeline.wall:6.2f} s")
    return out


def split_ratio(one: Timeline, two: Timeline) -> tuple[float, float]:
    """(measured two / one wall time, a perfect split's): ``one`` with the large stages that ran
    in under SPED_UP of their time with two workers halved, everything else as it was. Stages are matched
    by :func:`stage_label` (a fused stage's full name holds ids that may differ between runs)."""
    two_walls = {stage_label(s.name): s.wall for s in two.stages}
    halved = sum(
        s.wall / 2
        for s in one.stages
        if s.wall >= LARGE_S and two_walls.get(stage_label(s.name), s.wall) <= SPED_UP * s.wall
    )
    return two.wall / one.wall, (one.wall - halved) / one.wall


def stage_walls(timeline: Timeline) -> dict[str, float]:
    """Start-up, each stage (by :func:`stage_label`, ``#2`` for a label's second stage) and the tail."""
    walls = {"start-up": timeline.start_up}
    for s in timeline.stages:
        label = stage_label(s.name)
        key, n = label, 1
        while key in walls:
            n += 1
            key = f"{label}#{n}"
        walls[key] = s.wall
    walls["tail"] = timeline.tail
    return walls


def excess_lines(ones: list[Timeline], twos: list[Timeline]) -> list[str]:
    """Every stage's median wall time with one and with two workers and its *excess*, two workers' time
    less half of one's: what the two-worker run loses there against a perfect split (start-up, stages
    whose work does not halve, a straggler). The excesses add up to two's wall less half of one's."""
    one = [stage_walls(t) for t in ones]
    two = [stage_walls(t) for t in twos]
    labels = list(dict.fromkeys(k for walls in two + one for k in walls))
    out, total = [], 0.0
    for label in labels:
        a = statistics.median(w.get(label, 0.0) for w in one)
        b = statistics.median(w.get(label, 0.0) for w in two)
        total += b - a / 2
        out.append(f"  {label[:66]:<66} 1w {a:6.3f} 2w {b:6.3f} excess {b - a / 2:+6.3f}")
    walls = [statistics.median(t.wall for t in runs) for runs in (ones, twos)]
    out.append(f"  {'wall (medians)':<66} 1w {walls[0]:6.3f} 2w {walls[1]:6.3f} excess {total:+6.3f}")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--size_mb", type=float, default=200.0, help="size of the built-in sample (built once)"
    )
    parser.add_argument("--workers", default="1,2", help="worker counts, run in this order each round")
    parser.add_argument("--rounds", type=int, default=1, help="times to run each worker count (alternated)")
    parser.add_argument(
        "--every_stage",
        action="store_true",
        help="at the end, every stage's median with one and two workers and two's excess over half of one's",
    )
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.workers.split(",") if n]
    if not counts or min(counts) < 1:
        parser.error("--workers: positive worker counts, e.g. 1,2")
    src = sample(args.size_mb)
    pairs: list[tuple[float, float]] = []
    runs: dict[int, list[Timeline]] = {}
    for round_ in range(1, args.rounds + 1):
        found = {}
        for workers in counts:
            found[workers] = timeline = measure(src, workers)
            runs.setdefault(workers, []).append(timeline)
            print(
                f"{args.size_mb:g} MB, {workers} worker(s), round {round_} (load {os.getloadavg()[0]:.1f}):"
            )
            print("\n".join(lines(timeline)), flush=True)
        if 1 in found and 2 in found:
            pairs.append(split_ratio(found[1], found[2]))
            print(f"two / one worker: {pairs[-1][0]:.2f} measured, {pairs[-1][1]:.2f} with a perfect split")
    if len(pairs) > 1:
        measured, split = (statistics.median(p[i] for p in pairs) for i in (0, 1))
        print(f"median of {len(pairs)} rounds: {measured:.2f} measured, {split:.2f} with a perfect split")
    if args.every_stage and 1 in runs and 2 in runs:
        print(f"every stage, medians of {args.rounds} round(s):")
        print("\n".join(excess_lines(runs[1], runs[2])))


if __name__ == "__main__":
    main()
