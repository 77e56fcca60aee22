"""The whole santacoder preset on the sample: ledger invariant over every stage, and the same bytes on the
portable runner (the path Dataflow and other portable runners take) and on two warm local workers."""

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from pipeline.ids import ids_digest
from pipeline.run import run
from tests.conftest import ROOT, base_args
from tests.pipeline.helpers import file_bytes, input_ids, ledger, read_rows

STAGES = [
    "validate",
    "optout",
    "exact_dedup",
    "basic",
    "near_dedup",
    "near_dedup_alt",
    "pii",
    "decontam",
    "comments",
]


def test_every_stage_ran_and_balances(full_run, sample_dir):
    stats = json.loads((full_run / "stats.json").read_text())
    assert [s["name"] for s in stats["stages"]] == STAGES
    for stage in stats["stages"]:
        for lang, e in stage["langs"].items():
            assert e["docs_in"] == e["docs_out"] + sum(r["docs"] for r in e["removed"].values()), (
                stage,
                lang,
            )
    kept = Counter(r["id"] for r in read_rows(full_run / "data", ["id"]))
    removed = Counter(r["id"] for r in ledger(full_run))
    expected = input_ids(sample_dir)
    assert kept + removed == expected and not set(kept) & set(removed)
    assert stats["input"]["ids_digest"] == ids_digest(expected.elements())


def test_score_columns_are_written(full_run):
    rows = read_rows(full_run / "data", ["comment_ratio", "pii_redacted"])
    assert rows and all(0.01 < r["comment_ratio"] < 0.8 for r in rows)
    assert any(r["pii_redacted"] for r in rows)


def test_planted_cases_are_caught_end_to_end(full_run, truth):
    removed = {r["id"]: r["stage"] for r in ledger(full_run)}
    for case in truth["decontam"]:
        assert removed.get(case["id"]) == "decontam", case
    modified = {r["id"] for r in read_rows(full_run / "modified" / "pii", ["id"])}
    pii_ids = {case["id"] for case in truth["pii"]}
    assert pii_ids <= modified | set(removed)


def test_portable_runner_gives_identical_bytes(full_run, sample_dir, shared_dir, tmp_path):
    out = tmp_path / "portable"
    run(
        base_args(sample_dir, out, shared_dir)
        + [
            "--preset",
            "santacoder",
            "--runner",
            "PortableRunner",
            "--job_endpoint",
            "embed",
            "--environment_type",
            "LOOPBACK",
        ]
    )
    assert file_bytes(full_run) == file_bytes(out)


EARLY_FORK_SCRIPT = """
import json, sys
from pipeline import warm_workers

forks = []
made = warm_workers.WarmWorkers.__init__

def spy(self, count, work=None, preload=None):
    forks.append({"beam_imported": "apache_beam" in sys.modules, "count": count, "preload": preload is not None})
    made(self, count, work=work, preload=preload)

warm_workers.WarmWorkers.__init__ = spy
from pipeline.run import run

stats = run(json.loads(sys.argv[1]))
print(json.dumps({"forks": forks, "runner": stats["runner"]}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="warm workers are Linux only")
def test_two_warm_workers_forked_before_beam_is_imported_give_identical_bytes(
    full_run, sample_dir, shared_dir, tmp_path
):
    """The zygote imports Beam and the judges on the other core while the launcher does the same
    (pipeline.run, pipeline.warm_workers): one zygote, forked before Beam is imported, whose two workers
    run the job to the same bytes as one in-process worker."""
    out = tmp_path / "out"
    argv = base_args(sample_dir, out, shared_dir) + ["--preset", "santacoder", "--direct_num_workers", "2"]
    done = subprocess.run(
        [sys.executable, "-c", EARLY_FORK_SCRIPT, json.dumps(argv)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["forks"] == [{"beam_imported": False, "count": 2, "preload": True}]
    assert result["runner"] == "FnApiRunner (local, 2 worker processes)"
    assert file_bytes(full_run) == file_bytes(out)


def skewed_copy(sample: Path, folder: Path) -> Path:
    """The sample's parquet rows again, as row groups of 4 and 16 rows in turn: FnApiRunner deals units
    round robin, so one worker gets every large one and the other runs out first."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.concat_tables([pq.read_table(path) for path in sorted(sample.glob("*.parquet"))])
    folder.mkdir()
    with pq.ParquetWriter(folder / "part-00000.parquet", table.schema) as writer:
        start = 0
        while start < table.num_rows:
            size = 4 if start % 20 == 0 else 16
            writer.write_table(table.slice(start, size))
            start += size
    return folder


def test_work_stolen_between_workers_gives_identical_bytes(sample_dir, shared_dir, tmp_path, monkeypatch):
    """On input that round robin splits unevenly, the idle worker takes work from the busy one
    (pipeline.stealing, every stage, threshold 0), and the output does not change: the same bytes,
    counts and ledger as one worker."""
    from pipeline import stealing

    taken = []
    steal = stealing.StealingBundleManager._steal

    def counted(self, *args):
        stolen = steal(self, *args)
        taken.extend([len(stolen)] if stolen else [])
        return stolen

    monkeypatch.setattr(stealing, "STEAL_AFTER_S", 0.0)
    monkeypatch.setattr(stealing.StealingBundleManager, "_steal", counted)
    skewed = skewed_copy(sample_dir, tmp_path / "skewed")

    def job(out: Path, workers: list[str]) -> Path:
        run(base_args(skewed, out, shared_dir) + ["--preset", "santacoder", *workers])
        return out

    one = job(tmp_path / "one", ["--direct_running_mode", "in_memory", "--direct_num_workers", "1"])
    assert not taken
    two = job(tmp_path / "two", ["--direct_running_mode", "multi_threading", "--direct_num_workers", "2"])
    assert taken, "no stage was split"
    assert file_bytes(one) == file_bytes(two) and len(file_bytes(one)) >= 5

    def counts(output):  # every stage's counts, without its CPU time
        stages = json.loads((output / "stats.json").read_text())["stages"]
        return [{k: v for k, v in stage.items() if k != "cpu_s"} for stage in stages]

    assert counts(one) == counts(two)
