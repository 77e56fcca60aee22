"""The collector a job runs with: set before the launcher forks its workers' parent (and by every judging
process, tests/pipeline/test_judging_process.py)."""

from __future__ import annotations

import gc
import subprocess
import sys
import weakref
from collections.abc import Iterator

import pytest

from pipeline.collector import THRESHOLDS, paused
from pipeline.run import _early_workers
from tests.conftest import ROOT


def test_the_run_entry_sets_the_collector_before_it_would_fork(python_defaults):
    assert gc.get_threshold() == (700, 10, 10)
    with _early_workers(["--runner", "FlinkRunner"]) as early:  # not a local run: no fork, same setting
        assert early is None
        assert gc.get_threshold() == THRESHOLDS


def test_paused_stops_collections_inside_and_leaves_the_collector_as_it_was():
    assert gc.isenabled()
    with paused():
        assert not gc.isenabled()
        with paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner block does not switch it back on
    assert gc.isenabled()
    with pytest.raises(ValueError), paused():
        raise ValueError
    assert gc.isenabled()
    gc.disable()
    try:
        with paused():
            pass
        assert not gc.isenabled()  # off before: still off
    finally:
        gc.enable()


class _Node:
    pass


@pytest.fixture
def unfrozen():
    """What a test freezes goes back to the collector's generations after it."""
    yield
    gc.unfreeze()


@pytest.fixture
def collections() -> Iterator[list[int]]:
    """The generation of every collection that starts while the test runs, in order."""
    started: list[int] = []

    def note(phase: str, info: dict) -> None:
        if phase == "start":
            started.append(info["generation"])

    gc.callbacks.append(note)
    yield started
    gc.callbacks.remove(note)


def test_kept_objects_are_frozen_and_no_collection_follows_the_pause(unfrozen, collections):
    garbage = _Node()
    garbage.me = garbage  # a cycle only a collection frees
    gone = weakref.ref(garbage)
    del garbage
    frozen = gc.get_freeze_count()
    collections.clear()
    with paused(keep=True):
        assert collections == [2] and gone() is None  # garbage from before: collected (in full), not kept
        made = [_Node() for _ in range(50_000)]  # more than the youngest generation's threshold
    [_Node() for _ in range(100)]
    assert collections == [2]  # no collection as the pause ended, nor at the next allocations
    assert gc.get_freeze_count() >= frozen + len(made)


def test_without_keep_the_pause_only_defers_the_collection(collections):
    collections.clear()
    with paused():
        made = [_Node() for _ in range(50_000)]
        assert collections == []
    [_Node() for _ in range(100)]
    assert collections and len(made) == 50_000  # what the pause made is walked once it ends


def test_only_the_commands_import_of_the_job_is_kept():
    """``python -m pipeline.run`` freezes what importing the job made (Beam: ~350,000 objects); a library
    call (``pipeline.run.run``) freezes nothing of its caller's. Each in a fresh process: the import is
    once per process."""
    code = (
        "import gc; from pipeline.run import _import_job; _import_job(keep={}); print(gc.get_freeze_count())"
    )
    frozen = {
        keep: int(
            subprocess.run(
                [sys.executable, "-c", code.format(keep)],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        for keep in (False, True)
    }
    assert frozen[False] == 0 and frozen[True] > 100_000


def test_a_run_builds_its_graph_with_the_collector_paused_and_judges_with_it_on(tmp_path, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipeline import graph, job
    from pipeline.run import run
    from tests.pipeline.helpers import code_rows, pipeline_args

    pq.write_table(pa.Table.from_pylist(code_rows(20)), tmp_path / "in.parquet")
    seen: dict[str, list[bool]] = {"build": [], "read": []}
    build, read_unit = job.build, graph.read_unit

    def watched_build(*args, **kwargs):
        seen["build"].append(gc.isenabled())
        return build(*args, **kwargs)

    def watched_read(*args, **kwargs):
        seen["read"].append(gc.isenabled())
        return read_unit(*args, **kwargs)

    monkeypatch.setattr(job, "build", watched_build)
    monkeypatch.setattr(graph, "read_unit", watched_read)
    stats = run(pipeline_args(str(tmp_path / "in.parquet"), tmp_path / "out"))
    assert stats["output"]["docs"] == 20
    assert seen == {"build": [False], "read": [True]}  # one unit, read by the in-process worker
    assert gc.isenabled()
