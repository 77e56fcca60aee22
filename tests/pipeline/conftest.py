"""Fixtures for the process settings of a judging process (``pipeline.judging_process``)."""

from __future__ import annotations

import gc

import pytest
from apache_beam.runners.worker import statesampler


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
