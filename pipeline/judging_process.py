"""How every process that judges documents is set, in one call: the launcher (whose in-process worker runs
one-worker jobs, and which forks the warm workers) and each local worker process, forked or fresh.

Why one call: these settings matter wherever bundles run, and a setting applied at one of those places but
not the other is easy to miss (fresh workers once ran with Python's collector defaults).
"""

from __future__ import annotations

from pipeline.allocator import keep_freed_heap
from pipeline.collector import collect_less_often
from pipeline.state_sampler import sample_often


def set_up_judging_process() -> None:
    """Python's collector and glibc's malloc (:func:`set_up_memory`) and Beam's step sampler
    (``pipeline.state_sampler``) as our processes that run bundles want them; idempotent."""
    set_up_memory()
    sample_often()


def set_up_memory() -> None:
    """Python's collector (``pipeline.collector``) and glibc's malloc (``pipeline.allocator``): the part the
    run entry also sets before it forks the workers' parent (forks inherit both); imports nothing heavy."""
    collect_less_often()
    keep_freed_heap()
