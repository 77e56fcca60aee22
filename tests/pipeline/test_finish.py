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
    from pipeline.job import _runner, build, make_plan, plan_record
    from pipeline.run import run

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
    assert stats["stages"] == [{**s, "cpu_s": None} for s in expected["stages"]]  # no metrics: null, not 0
    assert (stats["cpu_recorded"], stats["cpu_unmeasured"]) == (
        False,
        [s["name"] for s in expected["stages"]],
    )
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
    from pipeline.job import make_plan, plan_record

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

    # The whole stack-base job takes long enough to be killed in the middle (the plan is written before it runs).
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
    time.sleep(0.5)  # into its stages (the whole job takes several seconds)
    assert proc.poll() is None, "the re-run finished before it could be interrupted"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)

    after = {k: v for k, v in _files(out).items() if not k.startswith(finish_mod.WORK_DIR)}
    assert after == before  # every byte of the finished output is still there
    assert check_ledger(out) == []

    run(base_args(sample_dir, out, shared_dir) + ["--stages", "optout", "--direct_num_workers", "1"])
    assert not (out / finish_mod.WORK_DIR).exists()
    assert sorted(p.name for p in (out / "removed").iterdir()) == ["optout", "validate"]
    assert check_ledger(out) == []


def _stage(name: str, docs_in: int, unparseable: int) -> dict:
    removed = {"unparseable": {"docs": unparseable, "bytes": 10 * unparseable}} if unparseable else {}
    entry = {"docs_in": docs_in, "bytes_in": 0, "docs_out": docs_in - unparseable, "bytes_out": 0}
    return {"name": name, "langs": {"python": {**entry, "removed": removed}}}


def test_unparseable_share_check_names_the_stage_the_share_and_the_bound():
    stats = {"stages": [_stage("basic", 5000, 0), _stage("comments", 2000, 30)]}
    assert finish_mod.unparseable_shares(stats["stages"]) == {"comments": (30, 2000)}
    finish_mod.check_unparseable(stats, 0.015)  # 30 of 2000 is 1.5%: at the bound passes
    with pytest.raises(finish_mod.FinishError) as failed:
        finish_mod.check_unparseable(stats, 0.01)
    assert str(failed.value).startswith(
        "stage comments: 30 of 2000 documents (1.50%) unparseable, above output.max_unparseable_share 0.01;"
    )
    few = {"stages": [_stage("comments", 96, finish_mod.MIN_UNPARSEABLE_DOCS - 1)]}
    finish_mod.check_unparseable(few, 0.01)  # a small sample's few edited files are not a broken input


def _with_unparseable_files(sample_dir: Path, folder: Path, count: int) -> Path:
    """The sample plus ``count`` Python files whose docstring never closes (no lexer can read them)."""
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir()
    parts = sorted(sample_dir.glob("*.parquet"))
    for part in parts:
        shutil.copy(part, folder / part.name)
    table = pq.read_table(parts[0])
    rows = table.slice(0, count).to_pylist()
    for i, row in enumerate(rows):
        content = f'def broken_{i}():\n    """This docstring never closes.\n    return {i}\n'
        row.update(content=content, lang="Python", size=len(content), max_stars_repo_path=f"broken/b{i}.py")
        row.update(max_stars_repo_name=f"planted/unparseable-{i}")
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), folder / "unparseable.parquet")
    return folder


def test_a_stage_above_the_unparseable_bound_fails_the_job_and_the_good_output_stays(
    sample_dir, shared_dir, tmp_path, capsys
):
    from cli.command import guarded
    from pipeline.run import main, run

    data = _with_unparseable_files(sample_dir, tmp_path / "input", 12)
    out = tmp_path / "out"
    args = base_args(data, out, shared_dir) + ["--stages", "comments", "--direct_num_workers", "1"]
    loose = tmp_path / "loose.yaml"
    loose.write_text("output:\n  max_unparseable_share: 0.1\n")
    stats = run([*args, "--config", str(loose)])  # the 12 planted files, and the sample's own near-duplicate
    (bad, received) = finish_mod.unparseable_shares(stats["stages"])["comments"]  # copies whose edits broke
    assert 12 <= bad and 0.01 * received < bad < 0.1 * received  # their indentation (2 of the 3 MB sample's)
    good = _files(out)

    assert guarded(main, "pipeline.run", args) == 2  # the default bound, 1 %
    line = capsys.readouterr().err.strip()
    assert line == (
        f"pipeline.run: stage comments: {bad} of {received} documents ({bad / received:.2%}) unparseable, "
        "above output.max_unparseable_share 0.01; the output was not finished "
        "(check the input and the worker image, or raise the bound)"
    )
    after = {name: data for name, data in _files(out).items() if not name.startswith("_work/")}
    assert after == good  # nothing promoted: the finished output is the one the good run wrote

    fresh = tmp_path / "fresh"  # no earlier output: the parts stay marked incomplete, no stats.json
    with pytest.raises(finish_mod.FinishError, match="above output.max_unparseable_share 0.01"):
        run(base_args(data, fresh, shared_dir) + args[len(base_args(data, out, shared_dir)) :])
    assert (fresh / finish_mod.INCOMPLETE_FILE).exists() and not (fresh / "stats.json").exists()
