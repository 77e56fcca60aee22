"""The spine on the sample: ledger invariant, planted-case recall, bad input, determinism across runners."""

import json
import os
from collections import Counter

import pytest

from pipeline.ids import ids_digest
from pipeline.run import run
from tests.conftest import base_args
from tests.pipeline.helpers import file_bytes, input_ids, ledger, read_rows


def test_ledger_invariant(spine_run, sample_dir):
    stats = json.loads((spine_run / "stats.json").read_text())
    kept = Counter(r["id"] for r in read_rows(spine_run / "data", ["id"]))
    removed = Counter(r["id"] for r in ledger(spine_run))
    expected = input_ids(sample_dir)
    assert kept + removed == expected
    assert not set(kept) & set(removed)
    assert stats["input"]["docs"] == sum(expected.values())
    assert stats["input"]["ids_digest"] == ids_digest(expected.elements())
    for stage in stats["stages"]:
        for lang, e in stage["langs"].items():
            gone = sum(r["docs"] for r in e["removed"].values())
            assert e["docs_in"] == e["docs_out"] + gone, (stage["name"], lang)
        in_ledger = sum(1 for r in ledger(spine_run, stage["name"]))
        assert in_ledger == sum(
            sum(r["docs"] for r in e["removed"].values()) for e in stage["langs"].values()
        )
    assert stats["output"]["docs"] == sum(kept.values())


def test_optout_recall_and_no_false_removals(spine_run, truth):
    removed = {r["id"]: r for r in ledger(spine_run, "optout")}
    planted = {case["id"]: case for case in truth["optout"]}
    assert planted and set(planted) <= set(removed)
    for doc_id, case in planted.items():
        assert removed[doc_id]["detail"]["entry"] == case["entry"].lower()
    assert set(removed) == set(planted)


def test_exact_dup_keep_rule_and_recall(spine_run, truth, sample_dir):
    removed = {r["id"]: r for r in ledger(spine_run, "exact_dedup")}
    kept = {r["id"] for r in read_rows(spine_run / "data", ["id"])}
    for group in truth["exact_dup"]:
        survivors = [i for i in group if i in kept]
        assert len(survivors) == 1, group
        for doc_id in group:
            if doc_id != survivors[0]:
                assert removed[doc_id]["detail"]["duplicate_of"] == survivors[0]
    # every removal is a true byte-identical duplicate of the document it names
    content = {r["id"]: r["content"] for r in read_rows(spine_run / "data", ["id", "content"])}
    for row in removed.values():
        assert row["detail"]["duplicate_of"] in content


def test_keep_rule_prefers_stars_then_id(spine_run, sample_dir, truth):
    import pyarrow.parquet as pq

    from pipeline.inputs import prepare

    docs = {}
    for path in sorted(sample_dir.glob("*.parquet")):
        for row in pq.read_table(path).to_pylist():
            row = prepare(row)
            docs[row["id"]] = row
    kept = {r["id"] for r in read_rows(spine_run / "data", ["id"])}
    for group in truth["exact_dup"]:
        best = min(group, key=lambda i: (-(docs[i]["max_stars_count"] or 0), i))
        assert best in kept


def test_basic_recall_and_no_false_removals(spine_run, truth):
    removed = {r["id"]: r for r in ledger(spine_run, "basic")}
    for case in truth["basic"]:
        assert removed[case["id"]]["reason"] == case["reason"]
    limits = {"max_line_length": (1000, 1), "avg_line_length": (100, 1), "alphanum_fraction": (0.25, -1)}
    for row in removed.values():
        limit, sign = limits[row["reason"]]
        assert sign * (row["detail"]["value"] - limit) > 0
        assert row["detail"]["threshold"] == limit


def test_bad_input_becomes_invalid_ledger_rows(spine_run, truth):
    removed = {r["id"]: r for r in ledger(spine_run, "validate")}
    problems = {case["problem"] for case in truth["invalid"]}
    assert {"undecodable", "binary", "empty", "null_repo", "oversized"} <= problems
    for case in truth["invalid"]:
        assert removed[case["id"]]["reason"] == "invalid"
        assert removed[case["id"]]["detail"]["problem"] == case["problem"]
    assert set(removed) == {case["id"] for case in truth["invalid"]}


@pytest.mark.parametrize(
    "runner_args",
    [
        ["--direct_running_mode", "multi_processing", "--direct_num_workers", "2"],
        ["--runner", "PortableRunner", "--job_endpoint", "embed", "--environment_type", "LOOPBACK"],
    ],
    ids=["fnapi-2-workers", "portable-embed"],
)
def test_identical_bytes_on_other_runners(spine_run, sample_dir, shared_dir, tmp_path, runner_args):
    out = tmp_path / "out"
    stats = run(
        base_args(sample_dir, out, shared_dir) + ["--stages", "optout,exact_dedup,basic", *runner_args]
    )
    reference, other = file_bytes(spine_run), file_bytes(out)
    assert reference.keys() == other.keys() and len(reference) >= 5
    assert reference == other
    described = {
        "fnapi-2-workers": "FnApiRunner (local, 2 worker processes)",
        "portable-embed": "PortableRunner",
    }
    assert (
        stats["runner"]
        == described["fnapi-2-workers" if "multi_processing" in runner_args else "portable-embed"]
    )


def test_beams_type_checks_are_off_by_default_and_the_graph_passes_them(sample_dir, shared_dir, tmp_path):
    """They cost 0.7 CPU-s of every launch, so runs skip them; the graph must still pass them."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import TypeOptions

    from pipeline.job import build, make_plan

    argv = base_args(sample_dir, tmp_path / "out", shared_dir) + ["--preset", "santacoder"]
    plan = make_plan(argv)
    assert plan.options.view_as(TypeOptions).pipeline_type_check is False
    plan.options.view_as(TypeOptions).pipeline_type_check = True
    pipeline = beam.Pipeline(options=plan.options)
    build(pipeline, plan)  # raises on a type-hint mismatch between steps
    assert len(pipeline.to_runner_api().components.transforms) > 100


def test_the_launcher_plans_and_builds_the_santacoder_graph_without_numba(sample_dir, shared_dir, tmp_path):
    """In a multi-process run the launcher builds the graph while the workers' parent sets up, and it runs
    no kernel: numba (~0.3 s) is left to the processes that do (the first call of a kernel loads it)."""
    import subprocess
    import sys

    argv = base_args(sample_dir, tmp_path / "out", shared_dir) + ["--preset", "santacoder"]
    script = (
        "import json, sys\n"
        "import apache_beam as beam\n"
        "from pipeline.job import build, make_plan\n"
        "plan = make_plan(json.loads(sys.argv[1]))\n"
        "pipeline = beam.Pipeline(options=plan.options)\n"
        "build(pipeline, plan)\n"
        "pipeline.to_runner_api()\n"
        "print('numba' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, json.dumps(argv)], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["False"]


def test_the_santacoder_set_up_on_node_is_presidio_and_the_minhash_kernels_once(
    sample_dir, shared_dir, tmp_path
):
    """What the workers' common parent sets up while the graph is built (pipeline.warm_workers): both
    near-dedup passes share one kernel load."""
    from dedup.minhash import load_kernels
    from pipeline.job import make_plan, setups_of_argv, setups_on_node
    from pipeline.stages.pii import build_engine

    argv = base_args(sample_dir, tmp_path / "out", shared_dir) + ["--preset", "santacoder"]
    plan = make_plan(argv)
    assert {"near_dedup", "near_dedup_alt", "pii"} <= set(plan.config.enabled)
    assert setups_on_node(plan.config) == [load_kernels, build_engine]
    only_basic = base_args(sample_dir, tmp_path / "out", shared_dir) + ["--stages", "basic"]
    assert setups_on_node(make_plan(only_basic).config) == []
    # an early zygote's guess, from argv alone: the same lists; nothing (and no output) for a bad argv
    assert setups_of_argv(argv) == [load_kernels, build_engine] and setups_of_argv(only_basic) == []
    assert setups_of_argv(["--input"]) == []


def test_an_early_zygote_with_the_wrong_count_is_dropped_for_a_new_one(
    sample_dir, shared_dir, tmp_path, monkeypatch
):
    """forks_wanted only guesses: where the plan wants another count, the guess is closed and a zygote
    with the planned count is forked and told the set-up."""
    from pipeline import job, warm_workers

    monkeypatch.setattr(warm_workers, "_JOB_RAN", False)
    plan = job.make_plan(
        base_args(sample_dir, tmp_path / "out", shared_dir) + ["--stages", "pii", "--direct_num_workers", "2"]
    )
    early = warm_workers.WarmWorkers(3, work=lambda: 0)
    pool = job._warm_pool(plan, early)
    try:
        assert pool is not early and pool.count == 2
        assert not os.path.exists(early.folder) and os.environ[warm_workers.ENV_POOL] == pool.folder
        with pytest.raises(ChildProcessError):  # closed: killed and reaped
            os.waitpid(early.zygote, os.WNOHANG)
        assert job._warm_pool(plan, pool) is pool  # the right count is kept
    finally:
        pool.close()
