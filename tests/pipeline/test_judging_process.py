"""Every process that judges documents is set the same way (``pipeline.judging_process``): the job's own
process before it plans, and a local worker before Beam's harness starts (a fresh one has no launcher to
inherit it from: macOS, a later job in one process)."""

from __future__ import annotations

import gc

import pytest
from apache_beam.runners.worker import bundle_processor, sdk_worker_main
from apache_beam.utils.counters import CounterFactory

from pipeline import job, judging_process, warm_workers
from pipeline.collector import THRESHOLDS
from pipeline.state_sampler import SAMPLING_PERIOD_MS

HEAP_SET: list[
    bool
] = []  # glibc's setting has no getter: the calls are counted (tests/pipeline/test_allocator.py)


@pytest.fixture(autouse=True)
def heap_spy(monkeypatch):
    HEAP_SET.clear()
    monkeypatch.setattr(judging_process, "keep_freed_heap", lambda: HEAP_SET.append(True))


def settings() -> tuple[tuple[int, int, int], int, bool]:
    """The collector's thresholds, the period a bundle processor's sampler made now would have (it
    looks the class up in ``statesampler``), and whether malloc was set."""
    sampler = bundle_processor.statesampler.StateSampler("step", CounterFactory())
    return gc.get_threshold(), sampler.sampling_period_ms, bool(HEAP_SET)


def test_a_job_sets_its_process_before_it_plans(python_defaults, beams_sampler, monkeypatch):
    class Planned(Exception):
        pass

    seen = []

    def make_plan(argv):
        seen.append(settings())
        raise Planned

    monkeypatch.setattr(job, "make_plan", make_plan)
    with pytest.raises(Planned):
        job.run(["--input", "in", "--output", "out"])
    assert seen == [(THRESHOLDS, SAMPLING_PERIOD_MS, True)]


def test_a_local_worker_sets_its_process_before_beams_harness_starts(
    python_defaults, beams_sampler, monkeypatch
):
    seen = []
    monkeypatch.setattr(sdk_worker_main, "main", lambda argv: seen.append(settings()))
    assert warm_workers._run_worker() == 0
    assert seen == [(THRESHOLDS, SAMPLING_PERIOD_MS, True)]
