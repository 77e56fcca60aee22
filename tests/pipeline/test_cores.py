"""A local run's worker count follows the cores the process may use, not the host's (containers, taskset),
and the memory it may use."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline import cores
from pipeline.options import parse


def _write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _proc_cgroup(tmp_path: Path, text: str) -> str:
    path = tmp_path / "proc_self_cgroup"
    path.write_text(text)
    return str(path)


def test_cgroup_v2_quota_of_the_process_or_an_ancestor_caps_the_count(tmp_path):
    root = tmp_path / "cg"
    own = _proc_cgroup(tmp_path, "0::/kubepods/pod1/ctr\n")
    _write(root, "cpu.max", "max 100000\n")
    assert cores.cgroup_cpu_limit(str(root), own) is None  # no limit anywhere
    _write(root, "kubepods/pod1/ctr/cpu.max", "250000 100000\n")  # docker --cpus=2.5
    assert cores.cgroup_cpu_limit(str(root), own) == 2.5
    _write(root, "kubepods/pod1/cpu.max", "150000 100000\n")  # the pod's limit is tighter
    assert cores.cgroup_cpu_limit(str(root), own) == 1.5
    assert cores.cgroup_cpu_limit(str(root), _proc_cgroup(tmp_path, "0::/\n")) is None  # not below them


def test_cgroup_v1_quota_and_what_does_not_limit(tmp_path):
    root = tmp_path / "cg"
    own = _proc_cgroup(tmp_path, "4:memory:/x\n3:cpu,cpuacct:/docker/abc\n0::/\n")
    _write(root, "cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "-1\n")
    _write(root, "cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n")
    assert cores.cgroup_cpu_limit(str(root), own) is None  # -1: no quota
    _write(root, "cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "400000\n")
    assert cores.cgroup_cpu_limit(str(root), own) == 4.0
    _write(root, "cpu.max", "not a quota\n")  # unreadable formats are no limit, not a crash
    assert cores.cgroup_cpu_limit(str(root), own) == 4.0
    assert cores.cgroup_cpu_limit(str(tmp_path / "none"), str(tmp_path / "no_such_file")) is None


def test_available_cores_is_the_affinity_capped_by_the_quota_rounded_up(tmp_path, monkeypatch):
    root = tmp_path / "cg"
    own = _proc_cgroup(tmp_path, "0::/\n")
    monkeypatch.setattr(os, "cpu_count", lambda: 64)  # the host
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(16)))  # taskset / cpuset
    assert cores.available_cores(str(root), own) == 16
    _write(root, "cpu.max", "250000 100000\n")
    assert cores.available_cores(str(root), own) == 3  # 2.5 CPUs: three workers, not two
    _write(root, "cpu.max", "50000 100000\n")
    assert cores.available_cores(str(root), own) == 1  # half a CPU: never 0


def test_on_this_machine_it_agrees_with_the_affinity():
    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("no CPU affinity on this platform")
    assert 1 <= cores.available_cores() <= len(os.sched_getaffinity(0))


def test_a_container_limit_sets_the_local_worker_count(monkeypatch):
    """What a user in a 2-CPU container on a 64-core host gets: two worker processes, not 64."""
    from apache_beam.options.pipeline_options import DirectOptions

    from pipeline import warm_workers

    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(cores, "available_cores", lambda: 2)
    monkeypatch.setattr(warm_workers, "usable", lambda: True)
    monkeypatch.setattr(warm_workers, "_JOB_RAN", False)
    argv = ["--input", "in", "--output", "out"]
    direct = parse(argv).view_as(DirectOptions)
    assert (direct.direct_num_workers, direct.direct_running_mode) == (2, "multi_processing")
    assert warm_workers.forks_wanted(argv) == 2
    zero = parse([*argv, "--direct_num_workers=0", "--direct_running_mode=multi_processing"])
    assert zero.view_as(DirectOptions).direct_num_workers == 2  # Beam's "one per core" would count 64


def test_available_memory_is_memavailable_capped_by_the_cgroups_headroom(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       32000000 kB\nMemFree:  1000 kB\nMemAvailable:   8000000 kB\n")
    root = tmp_path / "cg"
    own_v2 = _proc_cgroup(tmp_path, "0::/kubepods/pod1\n")
    assert cores.available_memory(str(meminfo), str(root), own_v2) == 8_192_000_000  # no cgroup limit
    _write(root, "kubepods/pod1/memory.max", "max\n")
    _write(root, "kubepods/pod1/memory.current", "100\n")
    assert cores.available_memory(str(meminfo), str(root), own_v2) == 8_192_000_000  # "max": no limit
    _write(root, "kubepods/memory.max", f"{2 * 2**30}\n")  # a parent's limit binds too
    _write(root, "kubepods/memory.current", f"{2**29}\n")
    assert cores.available_memory(str(meminfo), str(root), own_v2) == 2 * 2**30 - 2**29
    own_v1 = _proc_cgroup(tmp_path, "4:memory:/docker/abc\n1:cpu:/\n0::/\n")
    _write(root, "memory/docker/abc/memory.limit_in_bytes", "9223372036854771712\n")  # v1's "no limit"
    _write(root, "memory/docker/abc/memory.usage_in_bytes", "5\n")
    assert cores.available_memory(str(meminfo), str(root), own_v1) == 8_192_000_000
    _write(root, "memory/docker/abc/memory.limit_in_bytes", f"{3 * 2**30}\n")
    _write(root, "memory/docker/abc/memory.usage_in_bytes", f"{2**30}\n")
    assert cores.available_memory(str(meminfo), str(root), own_v1) == 2 * 2**30
    nothing = str(tmp_path / "none")
    assert cores.available_memory(nothing, nothing, nothing) is None  # not Linux: no cap


def test_workers_memory_holds_counts_what_fits_besides_the_launcher():
    assert cores.workers_memory_holds(None) > 1000
    assert cores.workers_memory_holds(cores.LAUNCHER_BYTES + 4 * cores.WORKER_BYTES) == 4
    assert cores.workers_memory_holds(cores.LAUNCHER_BYTES + 4 * cores.WORKER_BYTES - 1) == 3
    assert cores.workers_memory_holds(100) == 1  # never 0: one worker, in process


def test_little_memory_caps_the_local_worker_count_and_says_so(monkeypatch, caplog):
    """What a user with 8 cores and 3 GB free gets: three worker processes (a warning says why), not
    eight that the kernel would kill for memory; a count they give stays theirs."""
    from apache_beam.options.pipeline_options import DirectOptions

    from pipeline import runners, warm_workers

    monkeypatch.setattr(cores, "available_cores", lambda: 8)
    monkeypatch.setattr(cores, "memory_at_start", lambda: 3_000_000_000)
    monkeypatch.setattr(warm_workers, "usable", lambda: True)
    monkeypatch.setattr(warm_workers, "_JOB_RAN", False)
    assert cores.worker_limit() == 3
    argv = ["--input", "in", "--output", "out"]
    runners._warn_memory_cap.cache_clear()
    with caplog.at_level("WARNING", logger="stackcurate"):
        direct = parse(argv).view_as(DirectOptions)
        parse(argv)  # a run parses its options more than once: one warning
    assert (direct.direct_num_workers, direct.direct_running_mode) == (3, "multi_processing")
    assert caplog.text.count("using 3 of 8 cores") == 1
    assert warm_workers.forks_wanted(argv) == 3  # the early guess agrees: its zygote is kept
    assert "using 3 of 8 cores: 3.0 GB of memory available" in caplog.text
    mine = parse([*argv, "--direct_num_workers=8"]).view_as(DirectOptions)
    assert (mine.direct_num_workers, mine.direct_running_mode) == (8, "multi_processing")
    monkeypatch.setattr(cores, "memory_at_start", lambda: 1_200_000_000)
    direct = parse(argv).view_as(DirectOptions)
    assert (direct.direct_num_workers, direct.direct_running_mode) == (1, "in_memory")
