"""Python's garbage collector, set for a process that judges documents.

Why: CPython collects its youngest generation every 700 allocations and, as the heap grows, the whole
heap too (3.11 runs a full collection once the objects waiting for one are a quarter of the long-lived
ones). The job allocates dicts and strings per document, and with Beam, Presidio and numba loaded a full
collection walks a million objects or more: the santacoder job on the 200 MB sample ran 11 of them in its
one-worker process, ~1.4 s of its ~18. With the youngest generation collected every 10,000 allocations
(the older ones as before, relative to it) it runs 4, and the run took 16.4-17.0 s against 17.9-18.3
(peak RSS 626-629 MB either way), and every process's start-up (imports allocate) is shorter. Forked
workers inherit the setting; their parent also froze what it set up (``pipeline.warm_workers``), so their
collections never walked it, and two workers gain less (10.8-11.1 s against 11.4-12.2). Dataflow's and
Flink's workers are Beam's own processes and keep Python's defaults.

While a process starts (imports, set-ups, the graph's construction) nearly everything it allocates lives
as long as the process, so a collection then walks a growing heap for almost nothing: :func:`paused`
turns the collector off for that part. Measured in CPU time, 6 alternated runs each: the launcher's import
of the job 1.67 s (median) against 1.84, the warm workers' parent's preload (Beam's worker harness, the
job's modules, Presidio's engine, the MinHash kernels) 2.55 against 2.69.

The pause only defers: what it allocated is counted, so the first allocation after it sets off a
collection of the youngest generation, which then holds everything the pause made (the warm workers'
parent: ~0.17-0.2 s, just before it forks the workers, the first stage waiting; the launcher: ~0.14 s
after its imports). A process that keeps what it made for good says so (``paused(keep=True)``): it is
frozen (``gc.freeze``) as the pause ends, so no collection walks it, then or later.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

THRESHOLDS = (10_000, 10, 10)  # Python's defaults: (700, 10, 10)


def collect_less_often() -> None:
    """Set this process's collector (and its future forks') to :data:`THRESHOLDS`."""
    gc.set_threshold(*THRESHOLDS)


@contextmanager
def paused(keep: bool = False) -> Iterator[None]:
    """No collections inside (a process starting up); the collector as it was after. Nests. With
    ``keep``, what it made is frozen as it ends (and garbage from before is collected as it starts):
    only for what a process keeps as long as it lives (a worker's set-up, the job's modules)."""
    was_on = gc.isenabled()
    if keep:
        gc.collect()  # garbage made before the pause is not kept (a few ms where a process starts)
    gc.disable()
    try:
        yield
    finally:
        if keep:
            gc.freeze()  # also resets the count that would start a collection at the next allocation
        if was_on:
            gc.enable()
