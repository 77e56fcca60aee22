"""How many worker processes a local run may start: one per core it may use, as many as its memory holds.

``os.cpu_count()`` counts the host's cores. In a container with a CPU limit
(``docker run --cpus=2``, a Kubernetes pod's ``limits.cpu``) or under ``taskset``
the job gets far fewer, and one worker process per counted core would then
share a few cores among dozens of workers, each holding its own few hundred MB.
So the count is the process's CPU affinity, capped by a cgroup CPU quota
(v2 ``cpu.max``, v1 ``cpu.cfs_quota_us``) rounded up, as the JVM and
``loky`` count them.

Memory caps it too: each worker process holds ~200-400 MB at its peak (santacoder, 200 MB sample:
195-390 MB private each with 2 or 4 workers; the one writing the largest shard is the 390), the
launcher and the fork the workers come from ~0.7 GB. A 16-core laptop with 3 GB free, or a pod
with ``limits.cpu: 8`` and 2 GiB of memory, would be killed for memory with a worker per core, so
the count is at most (memory available - ``LAUNCHER_BYTES``) / ``WORKER_BYTES``: the memory
available (``MemAvailable``), capped by the cgroup's limit less what it already uses, read once
per process (the launcher reads it before it imports Beam; later reads would see its own imports).
Beam-free: the launcher asks before it imports Beam.
"""

from __future__ import annotations

import functools
import math
import os
from pathlib import Path

CGROUP_ROOT = "/sys/fs/cgroup"
MEMINFO = "/proc/meminfo"
WORKER_BYTES = 512 * 2**20  # a worker process at its peak (measured up to 390 MB private), with headroom
LAUNCHER_BYTES = 2**30  # the launcher (388 MB private at 200 MB) and the workers' parent (284 MB)


def worker_limit(cores: int | None = None) -> int:
    """The most worker processes a local run should start here: the cores (``cores`` where the caller
    has counted them already, else :func:`available_cores`), capped by the memory."""
    return min(available_cores() if cores is None else cores, workers_memory_holds(memory_at_start()))


def workers_memory_holds(memory: int | None) -> int:
    """How many worker processes ``memory`` bytes hold besides the launcher (at least 1; None: no cap)."""
    if memory is None:
        return 2**31
    return max(1, (memory - LAUNCHER_BYTES) // WORKER_BYTES)


@functools.cache
def memory_at_start() -> int | None:
    """:func:`available_memory` the first time this process asks (the run's count must not change later)."""
    return available_memory()


def available_memory(
    meminfo: str = MEMINFO, cgroup_root: str = CGROUP_ROOT, proc_cgroup: str = "/proc/self/cgroup"
) -> int | None:
    """Bytes this process may still allocate: the system's available memory, capped by its cgroup's (or
    an ancestor's) memory limit less that cgroup's usage; None where neither can be read (not Linux)."""
    found = [_meminfo_available(meminfo)]
    v2_path, v1_path = _own_cgroups(proc_cgroup, "memory")
    root = Path(cgroup_root)
    for folder in _up_to(root, v2_path):
        found.append(_headroom(folder / "memory.max", folder / "memory.current"))
    for folder in _up_to(root / "memory", v1_path):
        found.append(_headroom(folder / "memory.limit_in_bytes", folder / "memory.usage_in_bytes"))
    known = [value for value in found if value is not None]
    return min(known) if known else None


def _meminfo_available(meminfo: str) -> int | None:
    try:
        for line in Path(meminfo).read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024  # kB
    except (OSError, ValueError, IndexError):
        return None
    return None


def _headroom(limit_file: Path, usage_file: Path) -> int | None:
    """A cgroup's memory limit less its usage; None without a limit ("max", or v1's huge "no limit")."""
    try:
        limit_text, usage = limit_file.read_text().strip(), int(usage_file.read_text())
        limit = int(limit_text)
    except (OSError, ValueError):  # absent, "max", or not this format: no limit we can read
        return None
    if limit >= 2**60:  # v1 writes "no limit" as the largest page-aligned int64
        return None
    return max(0, limit - usage)


def available_cores(cgroup_root: str = CGROUP_ROOT, proc_cgroup: str = "/proc/self/cgroup") -> int:
    """Cores this process may run on: its affinity, capped by its cgroup's CPU quota (at least 1)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux: no affinity, no cgroups
        return os.cpu_count() or 1
    limit = cgroup_cpu_limit(cgroup_root, proc_cgroup)
    if limit is not None:
        cores = min(cores, math.ceil(limit))
    return max(1, cores)


def cgroup_cpu_limit(cgroup_root: str = CGROUP_ROOT, proc_cgroup: str = "/proc/self/cgroup") -> float | None:
    """The CPUs this process's cgroup (or an ancestor) may use per period; None where nothing limits it."""
    v2_path, v1_path = _own_cgroups(proc_cgroup, "cpu")
    root = Path(cgroup_root)
    limits = [_v2_limit(folder / "cpu.max") for folder in _up_to(root, v2_path)]
    for controller in ("cpu", "cpu,cpuacct"):
        for folder in _up_to(root / controller, v1_path):
            limits.append(_v1_limit(folder / "cpu.cfs_quota_us", folder / "cpu.cfs_period_us"))
    found = [limit for limit in limits if limit is not None]
    return min(found) if found else None


def _own_cgroups(proc_cgroup: str, controller: str) -> tuple[str, str]:
    """The process's cgroup v2 path and its v1 ``controller`` path ("/" where the file says nothing)."""
    v2, v1 = "/", "/"
    try:
        lines = Path(proc_cgroup).read_text().splitlines()
    except OSError:
        return v2, v1
    for line in lines:
        _, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if controllers == "":
            v2 = path or "/"
        elif controller in controllers.split(","):
            v1 = path or "/"
    return v2, v1


def _up_to(root: Path, path: str) -> list[Path]:
    """``root/path`` and each folder above it up to ``root`` (a limit set on a parent binds too)."""
    parts = [part for part in path.split("/") if part and part != ".."]
    return [root.joinpath(*parts[:depth]) for depth in range(len(parts), -1, -1)]


def _v2_limit(cpu_max: Path) -> float | None:
    """``cpu.max``: "QUOTA PERIOD" in microseconds, or "max PERIOD" (no limit)."""
    try:
        quota, period = cpu_max.read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):  # absent, or not this format: no limit we can read
        return None


def _v1_limit(quota_file: Path, period_file: Path) -> float | None:
    """``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``; a quota of -1 is no limit."""
    try:
        quota, period = int(quota_file.read_text()), int(period_file.read_text())
    except (OSError, ValueError):
        return None
    return quota / period if quota > 0 and period > 0 else None
