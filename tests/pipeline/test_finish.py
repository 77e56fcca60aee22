"""Outputs survive what goes wrong around a run: a launcher that dies, a re-run that is interrupted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import apache_beam as beam
import pytest

from pipeline import finish as finish_mod
from pipeline.output_files import load_stats
from release.verify import check_ledger
from tests.conftest import ROOT, base_args

QUICK = ["--stages", "optout,exact_dedup,basic", "--direct_num_workers", "1"]


def _files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": "",
    }


def test_finish_completes_a_job_whose_launcher_died_and_is_idempotent(sample_dir, shared_dir, tmp_path):
    from pipeline.run import _runner, build, make_plan, plan_record, run

    reference = tmp_path / "reference"
    expected = run(base_args(sample_dir, reference, shared_dir) + QUICK)

    out = tmp_path / "out"
    plan = make_plan(base_args(sample_dir, out, shared_dir) + QUICK)
    plan.parts_root = finish_mod.parts_root(plan.output)
    finish_mod.start(plan.output, plan_record(plan), plan.parts_root)
    assert (out / finish_mod.INCOMPLETE_FILE).exists()
    pipeline = beam.Pipeline(runner=_runner(plan), options=plan.options)
    build(pipeline, plan)
    pipeline.run().wait_until_finish()  # the launcher "dies" here: no stats, no report, no card
    assert not (out / "stats.json").exists()

    done = subprocess.run(
        [sys.executable, "-m", "pipeline.finish", str(out)],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert check_ledger(out) == []
    stats = load_stats(out)
    assert stats["stages"] == [{**s, "cpu_s": 0.0} for s in expected["stages"]]
    assert stats["input"] == expected["input"]
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md",
        "data",
        "removed",
        "report.html",
        "stats.json",
    ]
    first = _files(out)
    parts = {k: v for k, v in first.items() if k.startswith(("data/", "removed/"))}
    assert parts and parts == {
        k: v for k, v in _files(reference).items() if k.startswith(("data/", "removed/"))
    }

    finish_mod.finish(str(out))  # a finished output: report and card are rebuilt, byte for byte
    assert _files(out) == first


def test_finish_refuses_a_job_that_did_not_finish(sample_dir, shared_dir, tmp_path):
    from pipeline.run import make_plan, plan_record

    out = tmp_path / "out"
    plan = make_plan(base_args(sample_dir, out, shared_dir) + QUICK)
    finish_mod.start(plan.output, plan_record(plan), finish_mod.parts_root(plan.output))
    with pytest.raises(finish_mod.FinishError, match="has not finished"):
        finish_mod.finish(str(out))


def test_an_interrupted_rerun_leaves_the_previous_output_whole(sample_dir, shared_dir, tmp_path):
    from pipeline.run import run

    out = tmp_path / "out"
    run(base_args(sample_dir, out, shared_dir) + QUICK)
    before = _files(out)

    # The whole stack-base job takes long enough to be killed in the middle.
    argv = [a for a in base_args(sample_dir, out, shared_dir) if a != "--quiet"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline.run", *argv],
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    plan = out / finish_mod.WORK_DIR / finish_mod.PLAN_FILE
    deadline = time.time() + 120
    while not plan.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    assert plan.exists(), "the re-run never started writing"
    time.sleep(3)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)

    after = {k: v for k, v in _files(out).items() if not k.startswith(finish_mod.WORK_DIR)}
    assert after == before  # every byte of the finished output is still there
    assert check_ledger(out) == []

    run(base_args(sample_dir, out, shared_dir) + ["--stages", "optout", "--direct_num_workers", "1"])
    assert not (out / finish_mod.WORK_DIR).exists()
    assert sorted(p.name for p in (out / "removed").iterdir()) == ["optout", "validate"]
    assert check_ledger(out) == []
