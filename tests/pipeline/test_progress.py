"""Progress lines: counts, rates, rate limiting, the on/off rule, and the Beam pass-through step."""

from __future__ import annotations

import io

import apache_beam as beam
import pytest
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.util import assert_that, equal_to

from pipeline import progress
from pipeline.progress import CountProgress, StageProgress, progress_bar, progress_enabled, shared_progress


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_prints_counts_and_rates_at_most_every_interval():
    clock, stream = FakeClock(), io.StringIO()
    reporter = StageProgress(stream=stream, interval_s=5.0, enabled=True, clock=clock)
    for _ in range(1000):  # 1000 docs of 2 kB over 4 s: no line yet
        clock.now += 0.004
        reporter.add("validate", 1, 2000)
    assert stream.getvalue() == ""
    clock.now += 1.0
    reporter.add("validate", 1, 2000)
    clock.now += 0.5
    reporter.add("basic", 10, 5_000_000)
    lines = stream.getvalue().splitlines()
    assert lines == ["[progress 0:00:05] validate 1.0k docs 2.0 MB (200 docs/s, 0.4 MB/s)"]
    clock.now += 5.0
    reporter.add("basic", 0, 0)
    assert stream.getvalue().splitlines()[-1] == (
        "[progress 0:00:10] validate 1.0k docs 2.0 MB (95 docs/s, 0.2 MB/s) | basic 10 docs 5.0 MB (2 docs/s, 1.0 MB/s)"
    )
    reporter.close()
    assert len(stream.getvalue().splitlines()) == 3


def test_on_off_rule(monkeypatch):
    monkeypatch.delenv(progress.ENV_SWITCH, raising=False)
    assert progress_enabled(io.StringIO()) is False  # a log file / CI: quiet
    assert progress_enabled(Tty()) is True
    assert progress_enabled(io.StringIO(), force=True) is True
    monkeypatch.setenv(progress.ENV_SWITCH, "1")
    assert progress_enabled(io.StringIO()) is True
    monkeypatch.setenv(progress.ENV_SWITCH, "0")
    assert progress_enabled(Tty()) is False
    assert progress_enabled(Tty(), force=True) is True
    quiet = StageProgress(stream=Tty(), interval_s=0, enabled=False)
    quiet.add("validate", 5, 10)
    quiet.close()
    assert quiet.docs == {}


def test_beam_step_counts_every_doc_and_passes_them_through(capsys):
    progress.reset_shared_progress()
    docs = [{"id": f"{i:020x}", "content": "é" * i} for i in range(50)]
    with beam.Pipeline(runner=FnApiRunner()) as p:
        out = p | beam.Create(docs) | CountProgress("validate", force=True, interval_s=0.0)
        assert_that(out, equal_to(docs))
    reporter = shared_progress()
    assert reporter.docs == {"validate": 50}
    assert reporter.bytes == {"validate": sum(2 * i for i in range(50))}  # UTF-8 bytes, not characters
    assert "validate 50 docs" in capsys.readouterr().err
    progress.reset_shared_progress()


@pytest.mark.parametrize("force, shown", [(True, True), (False, False)])
def test_progress_bar_follows_the_same_rule(force, shown, capsys):
    assert list(progress_bar(range(3), total=3, desc="train", force=force)) == [0, 1, 2]
    assert ("train" in capsys.readouterr().err) is shown
