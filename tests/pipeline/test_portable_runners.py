"""The santacoder preset on real Flink and Spark engines, through Beam's portable runners: a local Flink cluster
with 2 task slots and Spark in local mode with 2 cores, each started by Beam's job server (built by ``make
jars``), with Python SDK workers in separate processes from Beam's worker pool: the same portable Fn API
harness that Dataflow Runner v2 uses. The output must be byte-identical to the local run's.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from apache_beam.options.pipeline_options import (
    FlinkRunnerOptions,
    JobServerOptions,
    PortableOptions,
    SparkRunnerOptions,
)

from pipeline import job_servers, runners
from pipeline.job_servers import FLINK, SPARK
from pipeline.options import parse
from release.verify import check_ledger
from tests.conftest import ROOT, base_args
from tests.pipeline.helpers import file_bytes, free_port, read_rows

needs_java = pytest.mark.skipif(
    shutil.which("java") is None or shutil.which("mvn") is None,
    reason="the job servers need Java and Maven (make jars)",
)
POOL_START_S = 60
RUN_LIMIT_S = 600


def options_for(tmp_path: Path, runner: str, *extra: str):
    """The parsed options of a run on ``runner`` (``FlinkRunner``...) with ``extra`` arguments."""
    return parse(["--input", str(tmp_path), "--output", str(tmp_path / "out"), f"--runner={runner}", *extra])


def project_jar(tmp_path: Path, monkeypatch, server: job_servers.JobServer) -> Path:
    """A stand-in for ``server``'s jar where ``pipeline.job_servers`` looks for it; its path."""
    jars = tmp_path / "jars"
    jars.mkdir(exist_ok=True)
    (jars / server.jar_name).write_bytes(b"PK")
    monkeypatch.setattr(job_servers, "JAR_DIR", jars)
    return jars / server.jar_name


def stop_group(proc: subprocess.Popen) -> None:
    """End ``proc`` and everything it started (its own process group)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture
def worker_pool(tmp_path):
    """Beam's Python worker pool on a free port; it starts each SDK worker as ``python`` from PATH."""
    port = free_port()
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    log = tmp_path / "worker_pool.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "apache_beam.runners.worker.worker_pool_main", f"--service_port={port}"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + POOL_START_S
        while True:
            assert proc.poll() is None, f"worker pool exited: {log.read_text()}"
            with socket.socket() as sock:
                if sock.connect_ex(("localhost", port)) == 0:
                    break
            assert time.monotonic() < deadline, f"worker pool not listening after {POOL_START_S} s"
            time.sleep(0.2)
        yield port, log
    finally:
        stop_group(proc)


def run_job(argv: list[str]) -> None:
    """``python -m pipeline.run argv`` in a child process (so the job server, and the engine it started,
    end with it), in its own group (so a run past the limit is ended whole); its log on failure."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline.run", *argv],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        log, _ = proc.communicate(timeout=RUN_LIMIT_S)
    finally:
        stop_group(proc)
    assert proc.returncode == 0, log.decode(errors="replace")[-5000:]


def assert_same_output(local: Path, out: Path, runner: str) -> None:
    """``out`` was written by ``runner``, keeps the ledger invariant and holds the local run's bytes."""
    assert json.loads((out / "stats.json").read_text())["runner"] == runner
    assert check_ledger(out) == []
    here, there = file_bytes(local), file_bytes(out)
    assert sorted(there) == sorted(here)
    assert [name for name in here if here[name] != there[name]] == []
    assert len(read_rows(out / "data", ["id"])) > 0


# --- where each runner's job server comes from -----------------------------------------------------------
SERVERS = {"FlinkRunner": (FLINK, FlinkRunnerOptions), "SparkRunner": (SPARK, SparkRunnerOptions)}


@pytest.mark.parametrize("runner", sorted(SERVERS))
def test_the_project_jar_is_found_and_the_users_kept(tmp_path, monkeypatch, runner):
    server, view = SERVERS[runner]
    jar = project_jar(tmp_path, monkeypatch, server)
    option = f"{server.runner}_job_server_jar"
    assert getattr(options_for(tmp_path, runner).view_as(view), option) == str(jar)
    assert options_for(tmp_path, runner).view_as(JobServerOptions).job_server_jvm_properties == ["-Xss16m"]
    mine = options_for(tmp_path, runner, "--job_server_jvm_property=-Xss64m").view_as(JobServerOptions)
    assert mine.job_server_jvm_properties == ["-Xss64m"]
    assert (
        getattr(options_for(tmp_path, runner, f"--{option}=/opt/my.jar").view_as(view), option)
        == "/opt/my.jar"
    )
    assert (
        runners.make_runner(options_for(tmp_path, runner)) is None
    )  # Beam builds the runner from the options
    assert isinstance(runners.make_runner(parse(["--input", "x", "--output", "y"])), runners.FnApiRunner)


@pytest.mark.parametrize(
    ("runner", "extra"),
    [("FlinkRunner", "--flink_master=[local]"), ("SparkRunner", "--spark_master_url=local[2]")],
)
def test_without_the_jar_the_run_says_how_to_get_it(tmp_path, monkeypatch, runner, extra):
    monkeypatch.setattr(job_servers, "JAR_DIR", tmp_path / "none")
    option = f"--{SERVERS[runner][0].runner}_job_server_jar"
    with pytest.raises(SystemExit, match=f"make jars.*{option}"):
        options_for(tmp_path, runner, extra)


def test_the_spark_job_server_jar_holds_spark_itself():
    pom = job_servers.job_server_pom(SPARK)
    for part in ("core", "streaming", "sql"):  # "provided" by beam-runners-spark-3: a cluster has them
        assert f"<artifactId>spark-{part}_2.12</artifactId><version>3.2.2</version>" in pom
    assert "org.apache.beam.runners.spark.SparkJobServerDriver" in pom
    assert "spark-core" not in job_servers.job_server_pom(FLINK)


@pytest.mark.parametrize(
    ("extra", "cache_ms"),
    [
        # workers in their own processes: one environment for the job, not one per Spark task
        (
            ["--environment_type=EXTERNAL", "--environment_config=localhost:50000"],
            runners.SPARK_ENVIRONMENT_CACHE_MS,
        ),
        (
            ["--spark_master_url=spark://master:7077"],
            runners.SPARK_ENVIRONMENT_CACHE_MS,
        ),  # DOCKER, Beam's default
        # LOOPBACK (given, or a local master's default): threads of the launcher, left as Beam has them
        (["--spark_master_url=local[2]"], 0),
        (["--environment_type=LOOPBACK"], 0),
        # the user's own value, 0 included
        (
            [
                "--environment_type=EXTERNAL",
                "--environment_config=localhost:50000",
                "--environment_cache_millis=0",
            ],
            0,
        ),
        (["--environment-type=PROCESS", "--environment-cache-millis", "5"], 5),
        # not Spark: left alone
        (["--runner=FlinkRunner", "--environment_type=EXTERNAL", "--environment_config=localhost:50000"], 0),
    ],
)
def test_spark_keeps_its_workers_environments_for_the_job(tmp_path, monkeypatch, extra, cache_ms):
    project_jar(tmp_path, monkeypatch, SPARK)
    project_jar(tmp_path, monkeypatch, FLINK)
    options = options_for(tmp_path, "SparkRunner", *extra).view_as(PortableOptions)
    assert int(options.environment_cache_millis) == cache_ms


# --- the job on each engine --------------------------------------------------------------------------------
@needs_java
@pytest.mark.parametrize(
    ("runner", "engine", "workers"),
    [
        # 2 task slots; the pool starts several SDK worker processes
        ("FlinkRunner", ["--flink_master=[local]", "--parallelism=2"], None),
        # 2 cores; one SDK worker process for the whole job (without the environment cache: one per Spark
        # task, ~50)
        ("SparkRunner", ["--spark_master_url=local[2]"], 1),
    ],
)
def test_the_job_gives_identical_bytes(
    full_run,
    sample_dir,
    shared_dir,
    worker_pool,
    tmp_path,
    runner,
    engine,
    workers,
):
    server = SERVERS[runner][0]
    assert server.jar.exists(), f"{server.jar} is missing: run `make jars`"
    port, pool_log = worker_pool
    out = tmp_path / server.runner
    argv = base_args(sample_dir, out, shared_dir) + [
        "--preset",
        "santacoder",
        f"--runner={runner}",
        *engine,
        "--environment_type=EXTERNAL",
        f"--environment_config=localhost:{port}",
    ]
    run_job(argv)
    started = pool_log.read_text().count("Starting worker")
    assert started == workers if workers else started >= 2  # SDK workers in processes of their own
    assert_same_output(full_run, out, runner)
