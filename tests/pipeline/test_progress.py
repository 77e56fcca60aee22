"""Progress lines: one per moving stage, rates over the last interval, the ETA, the on/off rule, the Beam step,
and counts from several worker processes added up by the launcher into one line per stage."""

from __future__ import annotations

import gzip
import io
import json
import multiprocessing
import os
import re
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline import progress
from pipeline.progress import (
    StageProgress,
    count_input_docs,
    progress_bar,
    progress_enabled,
    record,
)
from tests.conftest import base_args
from tests.pipeline.helpers import run_command


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_one_short_line_per_moving_stage_with_the_last_interval_rate_and_an_eta():
    clock, stream = FakeClock(), io.StringIO()
    reporter = StageProgress(stream=stream, interval_s=10.0, enabled=True, clock=clock)
    reporter.reset(["validate", "basic"], total_docs=4000)
    clock.now += 10.0  # 1000 docs of 2 kB in the first 10 s
    reporter.update({"validate": [1000, 2_000_000, 0]})
    assert reporter.lines() == [
        "[0:00:10] validate      1.0k docs       2.0 MB    0.2 MB/s",  # first line of a stage: no ETA yet
    ]
    # next 10 s: validate 3x faster (rate over this interval, not the run), basic starts, 1 of 4 removed
    clock.now += 10.0
    reporter.update({"validate": [4000, 8_000_000, 1], "basic": [3, 30_000, 0]})
    lines = reporter.lines()
    assert lines == [
        "[0:00:20] validate      4.0k docs       8.0 MB    0.6 MB/s  ETA 0:00:00",
        "[0:00:20] basic            3 docs       0.0 MB    0.0 MB/s",
    ]
    assert all(len(line) < 80 for line in lines)
    # a stage that did not move gets no line; the ETA counts what is left at the last interval's rate
    clock.now += 10.0  # 1000 docs in 10 s; expected 4000 * 1003 / 1004 = 3996, so 2993 left at 100/s
    reporter.update({"validate": [4000, 8_000_000, 1], "basic": [1003, 130_000, 0]})
    assert reporter.lines() == ["[0:00:30] basic         1.0k docs       0.1 MB    0.0 MB/s  ETA 0:00:29"]
    clock.now += 10.0
    assert reporter.lines() == []


def test_expected_docs_shrink_by_what_earlier_stages_removed():
    reporter = StageProgress(stream=io.StringIO(), interval_s=1e9, enabled=True)
    reporter.reset(["validate", "exact_dedup", "basic"], total_docs=1000)
    assert reporter.expected_docs("validate") == 1000
    # so far 1 in 4 removed by validate, and half of what exact_dedup judged
    reporter.update({"validate": [400, 0, 100], "exact_dedup": [300, 0, 100], "basic": [100, 0, 0]})
    assert reporter.expected_docs("exact_dedup") == 750
    assert reporter.expected_docs("basic") == 375
    assert reporter.expected_docs("unknown") is None
    reporter.reset(["validate"], total_docs=None)
    assert reporter.expected_docs("validate") is None  # input not counted (yet): lines without ETA


def test_on_by_default_with_an_interval_for_terminals_and_logs(monkeypatch):
    monkeypatch.delenv(progress.ENV_SWITCH, raising=False)
    monkeypatch.delenv(progress.ENV_INTERVAL, raising=False)
    assert progress_enabled(io.StringIO()) is True  # a log file / CI: on, sparse
    assert progress_enabled(Tty()) is True
    assert StageProgress(stream=Tty()).interval_s == progress.TERMINAL_INTERVAL_S == 10
    assert StageProgress(stream=io.StringIO()).interval_s == progress.LOG_INTERVAL_S == 30
    monkeypatch.setenv(progress.ENV_INTERVAL, "2.5")
    assert StageProgress(stream=Tty()).interval_s == 2.5
    for bad in ("0", "soon"):
        monkeypatch.setenv(progress.ENV_INTERVAL, bad)
        with pytest.raises(SystemExit, match=progress.ENV_INTERVAL):
            StageProgress(stream=Tty())
    monkeypatch.delenv(progress.ENV_INTERVAL)
    monkeypatch.setenv(progress.ENV_SWITCH, "0")
    assert progress_enabled(Tty()) is False
    assert progress_enabled(Tty(), force=True) is True
    monkeypatch.setenv(progress.ENV_SWITCH, "1")
    assert progress_enabled(io.StringIO()) is True
    assert progress_enabled(io.StringIO(), force=False) is False
    quiet = StageProgress(stream=Tty(), interval_s=0, enabled=False)
    quiet.expect(["validate"], [])
    assert quiet.spool is None and progress.ENV_SPOOL not in os.environ  # off: no spool, no thread
    quiet.close()


def test_input_docs_are_counted_from_footers_and_lines(tmp_path):
    pq.write_table(pa.table({"content": ["a", "b", "c"]}), tmp_path / "a.parquet")
    (tmp_path / "b.jsonl").write_bytes(b'{"content": "x"}\n\n{"content": "y"}\n')
    with gzip.open(tmp_path / "c.jsonl.gz", "wb") as handle:
        handle.write(b'{"content": "z"}\n' * 5)
    files = [str(tmp_path / name) for name in ("a.parquet", "b.jsonl", "c.jsonl.gz")]
    assert count_input_docs(files) == 3 + 2 + 5
    reporter = StageProgress(stream=io.StringIO(), interval_s=1e9, enabled=True)
    reporter.expect(["validate"], files)
    deadline = time.monotonic() + 10
    while reporter.total_docs is None and time.monotonic() < deadline:
        time.sleep(0.01)
    reporter.close()
    assert reporter.total_docs == 10 and reporter.order == ["validate"]
    broken = StageProgress(stream=io.StringIO(), enabled=True)
    broken._count([str(tmp_path / "missing.parquet")])
    assert broken.total_docs is None  # no ETA, no crash: the run reports a bad input itself


def _worker(spool: str, stage_docs: list[tuple[str, int]]) -> None:
    os.environ[progress.ENV_SPOOL] = spool
    for stage, docs in stage_docs:
        record(stage, docs, 10 * docs)
    record("validate", removed=1)


def test_counts_of_several_worker_processes_make_one_line_per_stage(tmp_path):
    clock, stream = FakeClock(), io.StringIO()
    reporter = StageProgress(stream=stream, interval_s=1e9, enabled=True, clock=clock)
    reporter.expect(["validate", "basic"], [])
    try:
        assert os.environ[progress.ENV_SPOOL] == reporter.spool  # what Beam's worker processes inherit
        context = multiprocessing.get_context("fork")  # a worker process of its own, quickly
        workers = [
            context.Process(target=_worker, args=(reporter.spool, [("validate", n), ("basic", n - 1)]))
            for n in (30, 70)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
            assert worker.exitcode == 0
        assert len(os.listdir(reporter.spool)) == 2  # one file per process
        clock.now += 10
        reporter.poll()
        assert stream.getvalue().splitlines() == [
            "[0:00:10] validate       100 docs       0.0 MB    0.0 MB/s",
            "[0:00:10] basic           98 docs       0.0 MB    0.0 MB/s",
        ]
        assert reporter.removed == {"validate": 2}
        spool = reporter.spool
    finally:
        reporter.close()
    assert not os.path.exists(spool) and progress.ENV_SPOOL not in os.environ
    assert reporter.docs == {"validate": 100, "basic": 98}  # the totals stay readable after the run


LINE = re.compile(r"^\[\d:\d\d:\d\d\] (\w+) +([\d.]+k?) docs +[\d,.]+ MB +[\d.]+ MB/s(  ETA \d:\d\d:\d\d)?$")


def _in_small_units(sample_dir: Path, folder: Path, rows: int = 16) -> Path:
    """The sample rewritten in row groups of ``rows``: many units, so each stage's counts arrive over several
    report intervals (with a handful of large pieces a stage can finish between two reports, and a stage's
    first line never has an ETA)."""
    folder.mkdir()
    for part in sorted(sample_dir.glob("*.parquet")):
        pq.write_table(pq.read_table(part), folder / part.name, row_group_size=rows)
    return folder


def test_a_two_process_run_prints_one_line_per_stage_with_an_eta(sample_dir, shared_dir, tmp_path):
    out = tmp_path / "out"
    data = _in_small_units(sample_dir, tmp_path / "input")
    argv = base_args(data, out, shared_dir) + ["--stages", "optout,basic"]
    argv += ["--direct_running_mode", "multi_processing", "--direct_num_workers", "2"]
    env = {progress.ENV_SWITCH: "1", progress.ENV_INTERVAL: "0.05", "TMPDIR": str(tmp_path)}
    done = run_command(argv, env)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stderr.splitlines() if line.startswith("[")]
    assert lines and all(LINE.match(line) for line in lines), done.stderr[-3000:]
    assert any("ETA" in line for line in lines), lines
    shown: dict[str, list[float]] = {}
    for line in lines:
        stage, docs = LINE.match(line).group(1, 2)
        shown.setdefault(stage, []).append(float(docs.rstrip("k")) * (1000 if docs.endswith("k") else 1))
    stats = json.loads((out / "stats.json").read_text())
    docs_in = {s["name"]: sum(e["docs_in"] for e in s["langs"].values()) for s in stats["stages"]}
    for stage, values in shown.items():
        # both workers' counts added up: every line of a stage shows more than the one before (a line per
        # worker would go back and forth), and never more than the stage saw
        assert values == sorted(set(values)), (stage, values)
        assert values[-1] <= docs_in[stage] + 50, (stage, values, docs_in)
    first = stats["stages"][0]["name"]
    assert abs(shown[first][-1] - docs_in[first]) <= 50  # reported once the stage was done: all of its input
    assert not list(tmp_path.glob("stackcurate-progress-*"))  # the spool went with the run


@pytest.mark.parametrize("force, shown", [(True, True), (False, False)])
def test_progress_bar_follows_the_same_rule(force, shown, capsys):
    assert list(progress_bar(range(3), total=3, desc="train", force=force)) == [0, 1, 2]
    assert ("train" in capsys.readouterr().err) is shown
