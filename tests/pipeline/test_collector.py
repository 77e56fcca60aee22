"""The collector a job runs with: set before the launcher forks its workers' parent, and by the job itself."""

from __future__ import annotations

import gc

import pytest
from apache_beam.runners.worker import sdk_worker_main

from pipeline import job, warm_workers
from pipeline.collector import THRESHOLDS
from pipeline.run import _early_workers


@pytest.fixture
def python_defaults():
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*before)


def test_the_run_entry_sets_the_collector_before_it_would_fork(python_defaults):
    assert gc.get_threshold() == (700, 10, 10)
    with _early_workers(["--runner", "FlinkRunner"]) as early:  # not a local run: no fork, same setting
        assert early is None
        assert gc.get_threshold() == THRESHOLDS


def test_a_job_sets_the_collector_before_it_plans(python_defaults, monkeypatch):
    class Planned(Exception):
        pass

    def make_plan(argv):
        assert gc.get_threshold() == THRESHOLDS
        raise Planned

    monkeypatch.setattr(job, "make_plan", make_plan)
    with pytest.raises(Planned):
        job.run(["--input", "in", "--output", "out"])


def test_a_local_worker_sets_the_collector_before_beams_harness_starts(python_defaults, monkeypatch):
    """A fresh worker (no fork of the launcher to inherit it from: macOS, a later job in one process)."""
    seen = []
    monkeypatch.setattr(sdk_worker_main, "main", lambda argv: seen.append(gc.get_threshold()))
    assert warm_workers._run_worker() == 0
    assert seen == [THRESHOLDS]
