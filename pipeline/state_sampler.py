"""Beam's state sampler, woken often enough that the end of a bundle does not wait for it.

Why: each bundle Beam's SDK harness runs starts a thread that samples which step is running (for Beam's
per-step msec counters, ``apache_beam.runners.worker.statesampler``). It sleeps 2 ms, then 20 % longer
each time, up to 200 ms, and the bundle's end joins it: a bundle longer than about a second idles ~100 ms
(up to 200) after its last element, as Beam's own comment there says. Locally a stage is one bundle per
worker, and the santacoder job has five such long stages: at 200 MB the one-worker run idled ~0.85 s in
these joins and the two-worker run ~0.7 s (``bench.pipeline_throughput``; the note of this change). With
the sleep capped at :data:`SAMPLING_PERIOD_MS` a bundle waits under that; the thread wakes without the
GIL, so the extra wake-ups cost nothing measurable.

Beam has no option for it: the sampler's class is swapped for one with a shorter default period, in
each process that runs bundles here (the launcher, whose in-process worker runs one-worker jobs, and
every local worker process, ``pipeline.warm_workers``).
"""

from __future__ import annotations

from typing import Any

SAMPLING_PERIOD_MS = 10  # Beam's default is 200


def sample_often() -> None:
    """Bundles that start from now on in this process sample at most every :data:`SAMPLING_PERIOD_MS`
    (Beam's bundle processor looks the class up in ``statesampler`` each time it makes one)."""
    from apache_beam.runners.worker import statesampler

    if getattr(statesampler.StateSampler, "stackcurate_period", None) == SAMPLING_PERIOD_MS:
        return
    beams = statesampler.StateSampler

    class OftenSampled(beams):  # type: ignore[misc, valid-type]
        stackcurate_period = SAMPLING_PERIOD_MS

        def __init__(
            self, prefix: str, counter_factory: Any, sampling_period_ms: int = SAMPLING_PERIOD_MS
        ) -> None:
            super().__init__(prefix, counter_factory, sampling_period_ms)

    statesampler.StateSampler = OftenSampled
