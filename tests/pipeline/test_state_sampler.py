"""Beam's state sampler as our processes run it: capped at SAMPLING_PERIOD_MS (in the launcher and in every
local worker: tests/pipeline/test_judging_process.py), so that a long bundle's end does not wait up to
Beam's 200 ms for the sampling thread."""

from __future__ import annotations

from apache_beam.runners.worker import bundle_processor, statesampler
from apache_beam.utils.counters import CounterFactory

from pipeline.state_sampler import SAMPLING_PERIOD_MS, sample_often


def period_of_a_new_sampler() -> int:
    """What a bundle processor made now would sample at (it looks the class up in ``statesampler``)."""
    return bundle_processor.statesampler.StateSampler("step", CounterFactory()).sampling_period_ms


def test_beams_default_would_make_a_long_bundle_wait_up_to_200_ms(beams_sampler):
    assert period_of_a_new_sampler() == statesampler.DEFAULT_SAMPLING_PERIOD_MS == 200


def test_sample_often_caps_every_new_sampler_once(beams_sampler):
    sample_often()
    sample_often()  # a second call (a later job in the process) keeps the one subclass
    assert period_of_a_new_sampler() == SAMPLING_PERIOD_MS == 10
    assert statesampler.StateSampler.__mro__[1] is beams_sampler
    sampler = statesampler.StateSampler("step", CounterFactory())
    sampler.start()
    sampler.stop()  # still Beam's sampler: it starts and stops as before
    assert sampler.finished
