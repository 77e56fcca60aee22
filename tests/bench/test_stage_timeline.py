"""The stage timeline bench: stages timed in the launcher of a real run, and the perfect-split arithmetic."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bench.stage_timeline import (
    Stage,
    Timeline,
    excess_lines,
    lines,
    measure,
    split_ratio,
    stage_label,
    tree_cpu,
)


def _timeline(wall: float, *stages: tuple[str, float]) -> Timeline:
    at, found = 2.0, []
    for name, seconds in stages:
        found.append(Stage(at, seconds, seconds, name))
        at += seconds
    return Timeline(wall, found)


def test_only_the_stages_two_workers_sped_up_are_halved():
    one = _timeline(14.0, ("((Judge/ByUnit/Read)+(x))", 8.0), ("(Write/Read)", 1.0), ("(Small)", 0.1))
    two = _timeline(9.0, ("((Judge/ByUnit/Read)+(y))", 4.2), ("(Write/Read)", 0.9), ("(Small)", 0.1))
    measured, split = split_ratio(one, two)
    assert round(measured, 4) == round(9.0 / 14.0, 4)
    assert round(split, 4) == round((14.0 - 4.0) / 14.0, 4)  # the writer (0.9 of 1.0) is not halved


def test_stage_labels_and_printed_lines():
    name = "((((ref_AppliedPTransform_Read-Files-Impulse_4)+(ref_AppliedPTransform_Read-Files-FlatMap_5))"
    assert stage_label(name) == "Read-Files-Impulse_4"
    assert stage_label("(Stage_near_dedup/ByUnit/Read)+(x)") == "Stage_near_dedup/ByUnit/Read"
    printed = lines(_timeline(12.0, ("(Big/Read)", 8.0), ("(Small)", 0.1), ("(Other)", 0.2)))
    assert printed[0].endswith("2.00 s")  # start-up
    assert "Big/Read" in printed[1] and "cores 1.00" in printed[1]
    assert "2 other stages" in printed[2] and printed[2].endswith("0.30 s")
    assert printed[3].endswith("1.70 s")  # tail: 12 - (2 + 8.3)


def test_tree_cpu_counts_the_children():
    before = tree_cpu(os.getpid())
    spin = (
        "import sys, time\nend = time.process_time() + 0.6\nwhile time.process_time() < end: pass\n"
        "print('spun', flush=True)\ntime.sleep(30)"
    )
    child = subprocess.Popen([sys.executable, "-c", spin], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "spun"  # however busy the machine: its CPU is on /proc now
        assert tree_cpu(os.getpid()) - before >= 0.55
    finally:
        child.kill()
        child.wait()


def test_a_real_run_is_timed_stage_by_stage(sample_dir: Path):
    for workers in (1, 2):
        timeline = measure(sample_dir, workers)
        labels = [stage_label(s.name) for s in timeline.stages]
        assert len(labels) >= 30  # the santacoder job's fused stages (39 on this sample), each timed once
        assert "Stage_near_dedup_alt/ByUnit/Read" in labels and "WriteData/ByShard/Read" in labels
        accounted = timeline.start_up + sum(s.wall for s in timeline.stages) + timeline.tail
        assert 0.8 * timeline.wall <= accounted <= timeline.wall + 0.01
        assert all(s.cpu >= 0 for s in timeline.stages) and timeline.start_up > 0.5  # Beam's import alone


def test_every_stage_excess_adds_up_to_what_two_workers_lose():
    ones = [_timeline(14.0, ("(Big/Read)+(x)", 10.0), ("(Small)", 0.2), ("(Small)", 0.1))]
    twos = [_timeline(8.0, ("(Big/Read)+(y)", 5.3), ("(Small)", 0.2), ("(Small)", 0.1))]
    printed = excess_lines(ones, twos)
    assert [line.split()[0] for line in printed] == [
        "start-up",
        "Big/Read",
        "Small",
        "Small#2",
        "tail",
        "wall",
    ]
    assert printed[0].endswith("excess +1.000")  # 2.0 s either way: half of it is lost
    assert printed[1].endswith("excess +0.300")  # 5.3 against a perfect 5.0
    assert printed[-1].endswith("excess +1.000")  # 8.0 - 14.0 / 2: the excesses add up to it
    assert "1w 14.000 2w  8.000" in printed[-1]
