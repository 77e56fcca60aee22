"""How this machine's cores do alone and two at once: the floor under a two-worker wall-time ratio.

Why: the #14 target compares a two-worker run's wall time with a one-worker run's, on a shared 2-core
VM. There, the same pure-Python loop took 1.16-1.84 s alone and, two copies at once, 1.19-1.92 s for the
slower copy, from one minute to the next (2026-12-01, ``two_cores`` by hand, 11 rounds): the cores are
time-shared with other tenants and are not always equally fast. A job split perfectly over two workers
waits for the slower one, so its wall time over one worker's is at least ``two_cores() / 2`` at that
moment (0.5 when both cores are as fast as one alone). ``bench.pipeline_throughput`` prints it next to
each round's ratio, so a round that missed can be told from a machine that could not have made it.
"""

from __future__ import annotations

import statistics
import subprocess
import sys

# A loop of dict and str work (what the job's Python does most), timed inside the child, so process
# start-up is left out: ~0.6 s alone on this machine.
_LOOP = """
import time
start = time.perf_counter()
counts = {}
for i in range(int(__import__("sys").argv[1])):
    key = i % 5000
    counts[key] = counts.get(key, 0) + len(str(i))
print(time.perf_counter() - start)
"""
ITERATIONS = 3_000_000


def _loops(copies: int, iterations: int) -> list[float]:
    """Wall seconds of each of ``copies`` loops started together, each in its own process."""
    children = [
        subprocess.Popen([sys.executable, "-c", _LOOP, str(iterations)], stdout=subprocess.PIPE, text=True)
        for _ in range(copies)
    ]
    times = []
    for child in children:
        out, _ = child.communicate()
        if child.returncode != 0:
            raise RuntimeError(f"the probe loop failed with exit status {child.returncode}")
        times.append(float(out))
    return times


def two_cores(iterations: int = ITERATIONS) -> float:
    """The slower of two copies run at once over one copy alone (alone measured before and after the pair,
    averaged): 1.0 where two cores are as fast as one."""
    before = _loops(1, iterations)[0]
    pair = max(_loops(2, iterations))
    after = _loops(1, iterations)[0]
    return pair / statistics.mean((before, after))
