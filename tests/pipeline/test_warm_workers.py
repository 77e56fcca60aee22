"""Warm local workers: forks of the launcher that set up first and then take a worker command's place."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from pipeline import cores as local_cores
from pipeline import runners
from pipeline.warm_workers import ENV_POOL, WarmWorkers
from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="forks")


def _alive(pid: int) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return False
    return not done


def test_a_worker_command_hands_its_environment_to_a_set_up_fork_and_exits_as_it_exits(tmp_path):
    """The zygote sets up once, what needs no graph first, then what the launcher sends once the graph is
    built, and forks two workers; three worker commands: two get a worker (its exit status, this
    environment), the third finds none free and becomes a fresh worker (which, without Beam's control
    address, fails)."""
    log = tmp_path / "log"

    def on_node() -> str:
        with open(tmp_path / "setup", "a") as out:
            out.write(f"node {os.getpid()}\n")
        return "engine"

    def warm() -> str:
        with open(tmp_path / "setup", "a") as out:
            out.write(f"graph {os.getpid()}\n")
        return "judge"

    def work() -> int:
        with open(log, "a") as out:
            out.write(
                f"{os.getpid()} {os.getppid()} {os.environ['JOB_MARK']} {os.environ.get(ENV_POOL) is not None}\n"
            )
        return 7

    with WarmWorkers(2, work=work) as pool:
        assert os.environ[ENV_POOL] == pool.folder
        pool.set_up([on_node])
        pool.warm(warm)
        command = runners.worker_command()
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        codes = [
            subprocess.run(
                command, shell=True, env={**env, "JOB_MARK": f"job{k}"}, capture_output=True, text=True
            )
            for k in range(3)
        ]
        assert [c.returncode for c in codes[:2]] == [7, 7]
        assert codes[2].returncode not in (0, 7)  # a fresh worker: Beam's harness, no control address
        assert "CONTROL_API_SERVICE_DESCRIPTOR" in codes[2].stderr
        # set up once, in the zygote, in that order; each worker is its child, ran once, with its caller's
        # environment
        assert (tmp_path / "setup").read_text().split("\n") == [
            f"node {pool.zygote}",
            f"graph {pool.zygote}",
            "",
        ]
        runs = [line.split() for line in log.read_text().splitlines()]
        assert [(parent, job, seen) for _, parent, job, seen in runs] == [
            (str(pool.zygote), "job0", "True"),
            (str(pool.zygote), "job1", "True"),
        ]
        assert len({pid for pid, *_ in runs}) == 2 and str(pool.zygote) not in {pid for pid, *_ in runs}
    assert ENV_POOL not in os.environ and not Path(pool.folder).exists()


def test_the_zygote_sets_up_while_the_launcher_builds_the_graph(tmp_path):
    """Forked at once: its set-up needing no graph runs as soon as it is sent, before the graph's."""
    started = tmp_path / "started"

    def on_node() -> None:
        writing = started.with_suffix(".part")
        writing.write_text(str(os.getpid()))
        writing.rename(started)  # whole when it appears: the test polls for it

    with WarmWorkers(1, work=lambda: 3) as pool:
        pool.set_up([on_node])
        deadline = time.monotonic() + 30
        while not started.exists() and time.monotonic() < deadline:  # no warm() sent yet
            time.sleep(0.02)
        assert started.read_text() == str(pool.zygote)
        pool.warm(lambda: None)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        assert subprocess.run(runners.worker_command(), shell=True, env=env).returncode == 3


def test_what_the_zygote_set_up_is_frozen_before_the_forks_and_no_collection_walks_it(tmp_path):
    """The zygote sets up with the collector paused; as the pause ends, what it made is frozen. Before,
    the first allocation after the pause set off a collection of everything set up (~0.2 s on santacoder,
    just before the forks, Beam's first stage waiting)."""
    collections = tmp_path / "collections"

    def warm() -> list:
        import gc

        def note(phase: str, info: dict) -> None:
            if phase == "start":
                with open(collections, "a") as out:
                    out.write(f"{os.getpid()}\n")

        made = [{"k": k} for k in range(100_000)]  # more than a collection's threshold, paused: none yet
        gc.callbacks.append(note)
        return made  # held by the zygote, as a judge's state is

    def work() -> int:
        import gc

        seen = collections.read_text().split() if collections.exists() else []
        zygote_collections = seen.count(str(os.getppid()))
        return 10 + min(zygote_collections, 9) if gc.get_freeze_count() >= 100_000 else 1

    with WarmWorkers(1, work=work) as pool:
        pool.warm(warm)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        assert subprocess.run(runners.worker_command(), shell=True, env=env).returncode == 10


def test_workers_nobody_claimed_are_stopped_at_close():
    """Their sockets close with them: a worker command then finds nobody to connect to."""
    import socket

    pool = WarmWorkers(2, work=lambda: 0)
    names = [Path(path).read_text() for path in sorted(Path(pool.folder).glob("*.slot"))]
    assert _alive(pool.zygote)
    pool.close()
    assert not _alive(pool.zygote)
    deadline = time.monotonic() + 10
    refused = 0
    while refused < len(names) and time.monotonic() < deadline:  # SIGKILL from the zygote's death: async
        refused = 0
        for name in names:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                try:
                    probe.connect("\0" + name)
                except ConnectionRefusedError:
                    refused += 1
        time.sleep(0.05)
    assert refused == len(names)


def test_without_a_pool_the_worker_command_is_a_fresh_worker(monkeypatch):
    monkeypatch.delenv(ENV_POOL, raising=False)
    started = subprocess.run(
        runners.worker_command(),
        shell=True,
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k != ENV_POOL},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode != 0 and "CONTROL_API_SERVICE_DESCRIPTOR" in started.stderr


def test_warm_judges_sets_up_every_step_that_can_be_warmed():
    """The forks run this: judges are built (once per process, shared with Beam's copies of the step) and
    timed steps load what they declare (near-dedup: the MinHash kernels)."""
    import apache_beam as beam

    from pipeline.judging import Timed
    from pipeline.warm_workers import warm_steps

    loaded = []
    pipeline = beam.Pipeline()
    _ = (
        pipeline
        | beam.Create([1])
        | "Warmed" >> beam.ParDo(Timed("stage", lambda x: [x], warm=lambda: loaded.append("kernels")))
        | "Plain" >> beam.ParDo(Timed("stage", lambda x: [x]))
    )
    assert warm_steps(pipeline)() == [None, None] and loaded == ["kernels"]


def test_a_long_temporary_folder_is_no_problem(tmp_path, monkeypatch):
    """Unix socket paths stop at 107 bytes; pytest's and CI's temporary folders can be longer."""
    import tempfile

    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    monkeypatch.setattr(tempfile, "tempdir", str(deep))
    with WarmWorkers(1, work=lambda: 5) as pool:
        assert pool.folder.startswith(str(deep)) and len(pool.folder) > 120
        pool.warm(lambda: None)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        assert subprocess.run(runners.worker_command(), shell=True, env=env).returncode == 5


def test_a_failing_set_up_leaves_a_cold_worker_that_still_serves():
    """The error then comes from Beam's own set-up in the worker, as it would in a fresh process."""

    def broken() -> None:
        raise RuntimeError("no benchmarks here")

    with WarmWorkers(1, work=lambda: 4) as pool:
        pool.set_up([broken])
        pool.warm(broken)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        assert subprocess.run(runners.worker_command(), shell=True, env=env).returncode == 4


def test_forks_only_before_the_first_job_of_a_process(monkeypatch):
    """After a job, Beam's threads and gRPC state would be copied half-alive into a fork: later jobs of the
    process (the test suite, ablations) get fresh workers."""
    from pipeline import warm_workers

    monkeypatch.setattr(warm_workers, "_JOB_RAN", False)
    assert warm_workers.usable() is warm_workers.SUPPORTED
    warm_workers.job_starting()
    assert warm_workers.usable() is False


def test_a_fork_whose_worker_fails_says_why(capfd):
    """A fork leaves with os._exit (never the launcher's exit handlers), which would drop the traceback."""

    def failing() -> int:
        raise RuntimeError("the harness broke")

    with WarmWorkers(1, work=failing) as pool:
        pool.warm(lambda: None)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        assert subprocess.run(runners.worker_command(), shell=True, env=env).returncode == 1
    assert "RuntimeError: the harness broke" in capfd.readouterr().err


@pytest.mark.parametrize(
    ("argv", "cores", "forks"),
    [
        ([], 2, 2),  # a plain local run: one worker per core
        ([], 1, 0),  # one core: one worker, in process
        (["--direct_num_workers", "3"], 2, 3),
        (["--direct_num_workers=0", "--direct_running_mode=multi_processing"], 4, 4),  # Beam's "one per core"
        (["--direct_num_workers=0"], 4, 0),  # a count under two runs in process, as the plan decides
        (["--direct-num-workers", "3"], 2, 3),  # the dashed spelling the command line takes
        (["--direct_num_workers", "1"], 4, 0),
        (["--direct_running_mode", "in_memory"], 4, 0),
        (["--direct_running_mode=multi_processing", "--direct_num_workers", "2"], 1, 2),
        (["--runner", "DataflowRunner"], 4, 0),
        (["--runner=DirectRunner"], 4, 0),  # not guessed: the run forks after planning instead
        (["--help"], 4, 0),
        (["--help_beam"], 4, 0),
        (["--direct_num_workers", "two"], 4, 0),  # the run's parsing reports it
    ],
)
def test_forks_wanted_guesses_only_plain_local_runs(argv, cores, forks, monkeypatch):
    """The guess made before Beam is imported; it agrees with runners.choose_local_workers where it guesses."""
    from pipeline import warm_workers

    monkeypatch.setattr(warm_workers, "_JOB_RAN", False)
    monkeypatch.setattr(local_cores, "available_cores", lambda: cores)
    assert warm_workers.forks_wanted(["--input", "x", "--output", "y", *argv]) == forks
    if forks:  # what is guessed is what the run then decides from the parsed options
        from pipeline.options import parse

        assert runners.local_worker_processes(parse(["--input", "x", "--output", "y", *argv])) == forks
    warm_workers.job_starting()
    assert warm_workers.forks_wanted(["--input", "x", "--output", "y", *argv]) == 0


def test_a_zygote_dropped_before_any_order_forks_no_workers():
    """The run's plan wanted another worker count: the early zygote ends without forking workers."""
    loaded = []
    pool = WarmWorkers(2, work=lambda: 0, preload=lambda: loaded.append(1))
    pool._close_orders()
    deadline = time.monotonic() + 30
    while _alive(pool.zygote) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _alive(pool.zygote)  # exited by itself (reaped here): close() finds nothing to kill
    pool.close()
    assert ENV_POOL not in os.environ
