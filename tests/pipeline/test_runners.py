"""Runner selection in one place (pipeline.runners), the local worker count, and local worker processes that
leave Ctrl-C to the launcher and die with it."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions

from pipeline import cores, progress, runners, worker_client
from pipeline.options import parse
from tests.conftest import ROOT, base_args


@pytest.mark.parametrize(
    "flags, name, local, dataflow, described",
    [
        ([], None, True, False, "FnApiRunner (local, in process)"),
        (["--runner=DirectRunner"], "direct", True, False, "FnApiRunner (local, in process)"),
        (["--runner=FnApiRunner", "--direct_running_mode=multi_processing", "--direct_num_workers=2"], "fnapi", True,
         False, "FnApiRunner (local, 2 worker processes)"),
        (["--runner=DataflowRunner"], "dataflow", False, True, "DataflowRunner"),
        (["--runner=apache_beam.runners.DataflowRunner"], "dataflow", False, True, "apache_beam.runners.DataflowRunner"),
        (["--runner=FlinkRunner"], "flink", False, False, "FlinkRunner"),
        (["--runner=PortableRunner"], "portable", False, False, "PortableRunner"),
    ],
)  # fmt: skip
def test_one_module_names_and_places_the_runner(flags, name, local, dataflow, described):
    options = PipelineOptions(flags)
    assert runners.runner_name(options) == name
    assert runners.is_local(options) is local
    assert runners.is_dataflow(options) is dataflow
    assert runners.describe(options) == described
    made = runners.make_runner(options)
    assert isinstance(made, runners.LocalRunner) if local else made is None  # Beam builds the others


def test_local_workers_run_our_worker_command_without_a_shell_in_between():
    command = runners.worker_command()
    assert command.startswith("exec ") and command.endswith(" -S -I " + shlex.quote(worker_client.__file__))


def test_progress_only_where_workers_share_this_machine(monkeypatch):
    monkeypatch.delenv(progress.ENV_SWITCH, raising=False)
    assert runners.reports_progress(PipelineOptions([])) is True
    assert runners.reports_progress(PipelineOptions(["--runner=DataflowRunner"])) is False
    assert runners.reports_progress(PipelineOptions(["--runner=FlinkRunner"])) is False
    monkeypatch.setenv(progress.ENV_SWITCH, "0")
    assert runners.reports_progress(PipelineOptions([])) is False


@pytest.mark.parametrize(
    "flags, here",
    [
        (["--runner=DirectRunner"], True),
        (["--runner=PrismRunner"], True),
        (["--runner=FlinkRunner", "--flink_master=[local]"], True),
        (["--runner=FlinkRunner", "--flink_master=[auto]", "--environment_type=EXTERNAL",
          "--environment_config=localhost:50000"], True),
        (["--runner=FlinkRunner", "--flink_master=[auto]", "--environment_type=DOCKER"], False),
        (["--runner=FlinkRunner", "--flink_master=flink.example:8081"], False),
        (["--runner=SparkRunner", "--spark_master_url=local[2]"], True),
        (["--runner=DataflowRunner"], False),
    ],
)  # fmt: skip
def test_workers_run_here(flags, here):

    pipeline = beam.Pipeline(runner=runners.LocalRunner(), options=PipelineOptions(flags))
    assert runners.workers_run_here(pipeline) is here
    assert runners.workers_run_here(beam.Pipeline(runner=runners.LocalRunner())) is True


def _workers(flags: list[str], input_bytes: int | None) -> tuple[int, str]:
    options = PipelineOptions(flags)
    runners.choose_local_workers(options, flags, input_bytes)
    direct = options.view_as(DirectOptions)
    return direct.direct_num_workers, direct.direct_running_mode


def test_warm_workers_mean_every_core_at_any_size(monkeypatch):
    """Forked warm, two workers beat one even on 50 documents (runners.choose_local_workers)."""
    monkeypatch.setattr(cores, "available_cores", lambda: 4)
    monkeypatch.setattr(runners.warm_workers, "usable", lambda: True)
    assert _workers([], 0) == (4, "multi_processing")
    assert _workers(["--direct_num_workers=1"], 0) == (1, "in_memory")
    assert _workers(["--direct_running_mode=in_memory"], 0) == (1, "in_memory")
    monkeypatch.setattr(cores, "available_cores", lambda: 1)
    assert _workers([], 0) == (1, "in_memory")


def test_fresh_workers_follow_the_input_size(monkeypatch):
    monkeypatch.setattr(cores, "available_cores", lambda: 4)
    monkeypatch.setattr(runners.warm_workers, "usable", lambda: False)  # not Linux, or a later job
    big = runners.MULTI_PROCESS_FROM_BYTES
    assert _workers([], big) == (4, "multi_processing")
    assert _workers([], None) == (4, "multi_processing")  # size not known yet: every core
    assert _workers([], big - 1) == (1, "in_memory")  # start-up would dominate
    # what the user says stays, and decides the other: one worker in process, several in processes
    assert _workers(["--direct_num_workers=3"], big - 1) == (3, "multi_processing")
    assert _workers(["--direct_num_workers=1"], big) == (1, "in_memory")
    assert _workers(["--direct_running_mode=multi_threading"], big - 1) == (4, "multi_threading")
    assert _workers(["--direct_running_mode=in_memory"], big) == (1, "in_memory")
    assert _workers(["--direct_num_workers=2", "--direct_running_mode=in_memory"], big) == (2, "in_memory")
    assert _workers(["--runner=FlinkRunner"], big) == (1, "in_memory")  # Beam's defaults: not ours to set
    monkeypatch.setattr(cores, "available_cores", lambda: 1)
    assert _workers([], big) == (1, "in_memory")
    parsed = parse(["--input", "in", "--output", "out"]).view_as(DirectOptions)  # before the input is listed
    assert parsed.direct_num_workers == 1 and parsed.direct_running_mode == "in_memory"


def test_the_plan_chooses_the_workers_from_the_input_size(sample_dir, shared_dir, tmp_path, monkeypatch):
    from pipeline.job import make_plan

    monkeypatch.setattr(cores, "available_cores", lambda: 2)
    monkeypatch.setattr(runners.warm_workers, "usable", lambda: False)  # fresh workers: the size decides
    argv = base_args(sample_dir, tmp_path / "out", shared_dir)
    small = make_plan(argv).options.view_as(DirectOptions)  # the 3 MB test sample: start-up would dominate
    assert (small.direct_num_workers, small.direct_running_mode) == (1, "in_memory")
    monkeypatch.setattr(runners, "MULTI_PROCESS_FROM_BYTES", 1)
    large = make_plan(argv).options.view_as(DirectOptions)
    assert (large.direct_num_workers, large.direct_running_mode) == (2, "multi_processing")
    mine = make_plan([*argv, "--direct_num_workers=1"]).options.view_as(DirectOptions)
    assert (mine.direct_num_workers, mine.direct_running_mode) == (1, "in_memory")
    # the dashed spelling the command line takes is the user's choice too, not overridden by the size
    dashed = make_plan([*argv, "--direct-num-workers", "3"]).options.view_as(DirectOptions)
    assert (dashed.direct_num_workers, dashed.direct_running_mode) == (3, "multi_processing")


def _worker_pids(launcher: int) -> list[int]:
    """The launcher's descendants that do the work: the worker commands Beam starts, the zygote the
    launcher forks and the workers the zygote forks (which the worker commands hand their work to)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if any(mark in cmdline for mark in (b"worker_client", b"fresh_worker_main", b"pipeline.run")):
                parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], {launcher}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier}
        found += sorted(frontier)
    return found


def _gone(pids: list[int], within_s: float = 10.0) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        alive = [pid for pid in pids if Path(f"/proc/{pid}").exists() and "Z" not in _state(pid)]
        if not alive:
            return True
        time.sleep(0.05)
    return False


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc; workers die with the launcher on Linux"
)
@pytest.mark.parametrize("how", ["ctrl-c", "launcher-killed"])
def test_an_interrupted_two_process_run_ends_quietly_and_leaves_no_worker(
    sample_dir, shared_dir, tmp_path, how
):
    argv = base_args(sample_dir, tmp_path / "out", shared_dir) + ["--stages", "pii,comments", "--no_report"]
    argv += ["--direct_running_mode", "multi_processing", "--direct_num_workers", "2"]
    scratch = tmp_path / "tmp"  # where the progress spool goes (a killed launcher cannot remove it)
    scratch.mkdir()
    env = {**os.environ, progress.ENV_SWITCH: "1", progress.ENV_INTERVAL: "0.1", "TMPDIR": str(scratch)}
    env.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS="")
    launcher = subprocess.Popen(
        [sys.executable, "-m", "pipeline.run", *argv],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a shell gives a foreground job
    )
    try:
        first = launcher.stderr.readline()
        while first and not first.startswith("["):  # the workers are judging documents now
            first = launcher.stderr.readline()
        workers = _worker_pids(launcher.pid)
        assert first and len(workers) == 5, (first, workers)  # two worker commands, the zygote, two workers
        if how == "ctrl-c":
            os.killpg(launcher.pid, signal.SIGINT)  # what the terminal sends: every process of the job
        else:
            os.kill(launcher.pid, signal.SIGKILL)
        rest = launcher.stderr.read()
        code = launcher.wait(timeout=60)
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
    assert _gone(workers), [(pid, _state(pid)) for pid in workers]
    if how == "ctrl-c":
        assert code == 130
        assert "Traceback" not in rest and "Error" not in rest, rest[-3000:]
        assert [line for line in rest.splitlines() if not line.startswith("[")] == [
            "pipeline.run: interrupted"
        ]
        assert not list(scratch.glob("stackcurate-progress-*"))  # the spool went with the run
    else:
        assert code == -signal.SIGKILL


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; warm workers are Linux only")
def test_a_graph_that_fails_to_build_leaves_no_zygote_and_the_output_as_it_was(
    sample_dir, shared_dir, tmp_path, monkeypatch
):
    """The workers' parent is forked before the graph is built: a build that fails must take it along."""
    from pipeline import graph, progress, warm_workers
    from pipeline.run import run

    monkeypatch.setattr(warm_workers, "_JOB_RAN", False)
    monkeypatch.setenv(progress.ENV_SWITCH, "1")  # as in a fresh process: warm workers are made

    def broken(pipeline, plan) -> None:
        progress.shared_progress().expect(plan.config.enabled, [])  # what graph.build starts first
        raise ValueError("this graph cannot be built")

    monkeypatch.setattr(graph, "build", broken)
    forked = []
    original = warm_workers.WarmWorkers.__init__

    def counting(self, *args, **kwargs) -> None:
        original(self, *args, **kwargs)
        forked.append(self.zygote)

    monkeypatch.setattr(warm_workers.WarmWorkers, "__init__", counting)
    out = tmp_path / "out"
    argv = base_args(sample_dir, out, shared_dir) + ["--stages", "pii", "--direct_num_workers", "2"]
    with pytest.raises(ValueError, match="cannot be built"):
        run(argv)
    assert len(forked) == 1 and _gone(forked)  # its workers, never forked, die with it anyway
    assert not out.exists() and warm_workers.ENV_POOL not in os.environ
    assert progress.ENV_SPOOL not in os.environ  # the progress reporter the build started is stopped
