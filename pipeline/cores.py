"""How many cores a local run may use, which is what sets its worker processes.

``os.cpu_count()`` counts the host's cores. In a container with a CPU limit
(``docker run --cpus=2``, a Kubernetes pod's ``limits.cpu``) or under ``taskset``
the job gets far fewer, and one worker process per counted core would then
share a few cores among dozens of workers, each holding its own few hundred MB.
So the count is the process's CPU affinity, capped by a cgroup CPU quota
(v2 ``cpu.max``, v1 ``cpu.cfs_quota_us``) rounded up, as the JVM and
``loky`` count them. Beam-free: the launcher asks before it imports Beam.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP_ROOT = "/sys/fs/cgroup"


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
    v2_path, v1_path = _own_cgroups(proc_cgroup)
    root = Path(cgroup_root)
    limits = [_v2_limit(folder / "cpu.max") for folder in _up_to(root, v2_path)]
    for controller in ("cpu", "cpu,cpuacct"):
        for folder in _up_to(root / controller, v1_path):
            limits.append(_v1_limit(folder / "cpu.cfs_quota_us", folder / "cpu.cfs_period_us"))
    found = [limit for limit in limits if limit is not None]
    return min(found) if found else None


def _own_cgroups(proc_cgroup: str) -> tuple[str, str]:
    """The process's cgroup v2 path and its v1 ``cpu`` controller path ("/" where the file says nothing)."""
    v2, v1 = "/", "/"
    try:
        lines = Path(proc_cgroup).read_text().splitlines()
    except OSError:
        return v2, v1
    for line in lines:
        _, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if controllers == "":
            v2 = path or "/"
        elif "cpu" in controllers.split(","):
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
