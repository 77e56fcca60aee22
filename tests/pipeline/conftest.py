"""Fixtures: the process settings of a judging process (``pipeline.judging_process``), and the local
reference run of the whole santacoder preset that other runners and stores must match byte for byte."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from apache_beam.runners.worker import statesampler

from tests.conftest import _cached, _source_key, base_args


@pytest.fixture
def python_defaults():
    """Python's collector thresholds for the test, the process's own restored after it."""
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*before)


@pytest.fixture
def beams_sampler(monkeypatch):
    """Beam's own sampler class for the test, restored after it (monkeypatch undoes the swap)."""
    original = statesampler.StateSampler
    while getattr(original, "stackcurate_period", None) is not None:  # a job earlier in this process
        original = original.__mro__[1]
    monkeypatch.setattr(statesampler, "StateSampler", original)
    return original


@pytest.fixture(scope="session")
def full_run(sample_dir: Path, shared_dir: Path) -> Path:
    """The santacoder preset on the sample, one in-process worker, local paths: built once per source
    state (cached across pytest-xdist workers)."""
    from pipeline.run import run

    def make(path: Path) -> None:
        run(
            base_args(sample_dir, path, shared_dir)
            + ["--preset", "santacoder", "--direct_running_mode", "in_memory", "--direct_num_workers", "1"]
        )

    key = f"{sample_dir}-" + "-".join(
        _source_key(p) for p in ("pipeline", "filters", "dedup", "pii", "decontam")
    )
    return _cached("full-run", key, make)
