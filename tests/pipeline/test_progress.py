"""Progress lines: one per moving stage, rates over the last interval, the ETA, the on/off rule, the Beam step."""

from __future__ import annotations

import gzip
import io
import time

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.util import assert_that, equal_to

from pipeline import progress
from pipeline.progress import (
    CountProgress,
    StageProgress,
    count_input_docs,
    progress_bar,
    progress_enabled,
    shared_progress,
)


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
    for _ in range(1000):  # 1000 docs of 2 kB over 9 s: no line yet
        clock.now += 0.009
        reporter.add("validate", 1, 2000)
    assert stream.getvalue() == ""
    clock.now += 1.0
    reporter.add("validate", 1, 2000)
    assert stream.getvalue().splitlines() == [
        "[0:00:10] validate      1.0k docs       2.0 MB    0.2 MB/s",  # first line of a stage: no ETA yet
    ]
    # next 10 s: validate 3x faster (rate over this interval, not the run), basic starts, 1 of 4 removed
    for _ in range(300):
        reporter.add("validate", 10, 20_000)
    reporter.add("basic", 3, 30_000)
    reporter.add_removed("validate", 1)
    clock.now += 10.0
    reporter.add("basic", 0, 0)
    lines = stream.getvalue().splitlines()[1:]
    assert lines == [
        "[0:00:20] validate      4.0k docs       8.0 MB    0.6 MB/s  ETA 0:00:00",
        "[0:00:20] basic            3 docs       0.0 MB    0.0 MB/s",
    ]
    assert all(len(line) < 80 for line in lines)
    # a stage that did not move gets no line; the ETA counts what is left at the last interval's rate
    for _ in range(10):  # 1000 docs in 10 s; expected 4000 * 1003 / 1004 = 3996, so 2993 left at 100/s
        clock.now += 1.0
        reporter.add("basic", 100, 10_000)
    assert stream.getvalue().splitlines()[3:] == [
        "[0:00:30] basic         1.0k docs       0.1 MB    0.0 MB/s  ETA 0:00:29"
    ]


def test_expected_docs_shrink_by_what_earlier_stages_removed():
    reporter = StageProgress(stream=io.StringIO(), interval_s=1e9, enabled=True)
    reporter.reset(["validate", "exact_dedup", "basic"], total_docs=1000)
    assert reporter.expected_docs("validate") == 1000
    reporter.add("validate", 400)
    reporter.add("exact_dedup", 300)
    reporter.add_removed("validate", 100)  # so far 1 in 4 removed by validate
    reporter.add("basic", 100)
    reporter.add_removed("exact_dedup", 100)  # and half of what exact_dedup judged
    assert reporter.expected_docs("exact_dedup") == 750
    assert reporter.expected_docs("basic") == 375
    assert reporter.expected_docs("unknown") is None
    reporter.reset(["validate"], total_docs=None)
    assert reporter.expected_docs("validate") is None  # input not counted (yet): lines without ETA


def test_on_by_default_with_an_interval_for_terminals_and_logs(monkeypatch):
    monkeypatch.delenv(progress.ENV_SWITCH, raising=False)
    assert progress_enabled(io.StringIO()) is True  # a log file / CI: on, sparse
    assert progress_enabled(Tty()) is True
    assert StageProgress(stream=Tty()).interval_s == progress.TERMINAL_INTERVAL_S == 10
    assert StageProgress(stream=io.StringIO()).interval_s == progress.LOG_INTERVAL_S == 30
    monkeypatch.setenv(progress.ENV_SWITCH, "0")
    assert progress_enabled(Tty()) is False
    assert progress_enabled(Tty(), force=True) is True
    monkeypatch.setenv(progress.ENV_SWITCH, "1")
    assert progress_enabled(io.StringIO()) is True
    assert progress_enabled(io.StringIO(), force=False) is False
    quiet = StageProgress(stream=Tty(), interval_s=0, enabled=False)
    quiet.add("validate", 5, 10)
    quiet.close()
    assert quiet.docs == {}


def test_input_docs_are_counted_from_footers_and_lines(tmp_path):
    pq.write_table(pa.table({"content": ["a", "b", "c"]}), tmp_path / "a.parquet")
    (tmp_path / "b.jsonl").write_bytes(b'{"content": "x"}\n\n{"content": "y"}\n')
    with gzip.open(tmp_path / "c.jsonl.gz", "wb") as handle:
        handle.write(b'{"content": "z"}\n' * 5)
    files = [str(tmp_path / name) for name in ("a.parquet", "b.jsonl", "c.jsonl.gz")]
    assert count_input_docs(files) == 3 + 2 + 5
    reporter = StageProgress(stream=io.StringIO(), enabled=True)
    reporter.expect(["validate"], files)
    deadline = time.monotonic() + 10
    while reporter.total_docs is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert reporter.total_docs == 10 and reporter.order == ["validate"]
    broken = StageProgress(stream=io.StringIO(), enabled=True)
    broken._count([str(tmp_path / "missing.parquet")])
    assert broken.total_docs is None  # no ETA, no crash: the run reports a bad input itself


def test_beam_step_counts_docs_and_removed_rows_and_passes_them_through(capsys):
    progress.reset_shared_progress()
    docs = [{"id": f"{i:020x}", "content": "é" * i} for i in range(50)]
    with beam.Pipeline(runner=FnApiRunner()) as p:
        out = p | beam.Create(docs) | CountProgress("validate", force=True, interval_s=0.0)
        gone = (
            p
            | "Ledger" >> beam.Create([{"id": "x"}] * 7)
            | CountProgress("validate", force=True, removed=True)
        )
        assert_that(out, equal_to(docs))
        assert_that(gone, equal_to([{"id": "x"}] * 7), label="removed")
    reporter = shared_progress()
    assert reporter.docs == {"validate": 50}
    assert reporter.bytes == {"validate": sum(2 * i for i in range(50))}  # UTF-8 bytes, not characters
    assert reporter.removed == {"validate": 7}
    assert "validate" in capsys.readouterr().err
    reporter.close()
    assert reporter.docs == {} and reporter.removed == {}  # the next run starts from zero
    progress.reset_shared_progress()


@pytest.mark.parametrize("force, shown", [(True, True), (False, False)])
def test_progress_bar_follows_the_same_rule(force, shown, capsys):
    assert list(progress_bar(range(3), total=3, desc="train", force=force)) == [0, 1, 2]
    assert ("train" in capsys.readouterr().err) is shown
