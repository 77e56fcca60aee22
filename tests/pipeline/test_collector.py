"""The collector a job runs with: set before the launcher forks its workers' parent (and by every judging
process, tests/pipeline/test_judging_process.py)."""

from __future__ import annotations

import gc

from pipeline.collector import THRESHOLDS
from pipeline.run import _early_workers


def test_the_run_entry_sets_the_collector_before_it_would_fork(python_defaults):
    assert gc.get_threshold() == (700, 10, 10)
    with _early_workers(["--runner", "FlinkRunner"]) as early:  # not a local run: no fork, same setting
        assert early is None
        assert gc.get_threshold() == THRESHOLDS
