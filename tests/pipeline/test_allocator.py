"""glibc's malloc as a judging process sets it (``pipeline.allocator``): freed heap is kept, not faulted back
in. Measured in fresh interpreters: the setting outlives the test that makes it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pipeline import allocator
from tests.conftest import ROOT

PAGE = os.sysconf("SC_PAGE_SIZE")
ROUNDS, BLOCKS, BLOCK = 5, 100, 200_000  # 20 MB of 200 kB blocks, allocated and freed 5 times

# What a bundle does to the heap: a batch's documents allocated, judged, freed; then the next batch.
PATTERN = f"""
import resource, sys
from pipeline.allocator import keep_freed_heap
from pipeline.run import _early_workers
if sys.argv[1] == "entry":
    with _early_workers(["--runner", "FlinkRunner"]):  # the run entry, without forking
        pass
elif sys.argv[1] == "set":
    print(keep_freed_heap(), end=" ")

def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt

held = [bytearray({BLOCK}) for _ in range({BLOCKS})]
del held  # glibc has now slid its thresholds to these blocks, as after a job's first batch
before = faults()
for _ in range({ROUNDS}):
    held = [bytearray({BLOCK}) for _ in range({BLOCKS})]
    del held
print(faults() - before)
"""

glibc_only = pytest.mark.skipif(not allocator.is_glibc(), reason="mallopt's thresholds are glibc's")


def faults_of(mode: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in allocator.USER_TUNING and k != "GLIBC_TUNABLES"}
    done = subprocess.run(
        [sys.executable, "-c", PATTERN, mode],
        env={**clean, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@glibc_only
def test_freed_heap_is_kept_instead_of_faulted_back():
    pages = ROUNDS * BLOCKS * BLOCK // PAGE
    default = int(faults_of("default"))
    assert default > 0.9 * pages  # glibc's defaults give every round's pages back and fault them in again
    applied, kept = faults_of("set").split()
    assert applied == "True"
    assert int(kept) < 0.01 * pages


@glibc_only
def test_the_run_entry_sets_it_before_it_would_fork():
    assert int(faults_of("entry")) < 0.01 * ROUNDS * BLOCKS * BLOCK // PAGE


@glibc_only
def test_a_users_own_tuning_stands():
    pages = ROUNDS * BLOCKS * BLOCK // PAGE
    applied, faults = faults_of(
        "set", MALLOC_TRIM_THRESHOLD_="131072", MALLOC_MMAP_THRESHOLD_="131072"
    ).split()
    assert applied == "False"
    assert int(faults) > 0.9 * pages  # the user's (here glibc's default) thresholds, not ours


def test_the_environment_says_whether_the_user_tuned_malloc(monkeypatch):
    for name in (*allocator.USER_TUNING, "GLIBC_TUNABLES"):
        monkeypatch.delenv(name, raising=False)
    assert not allocator.user_tuned()
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.rtld.optional_static_tls=2048")
    assert not allocator.user_tuned()
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=0")
    assert allocator.user_tuned()
    monkeypatch.delenv("GLIBC_TUNABLES")
    monkeypatch.setenv("MALLOC_TOP_PAD_", "0")
    assert allocator.user_tuned()
