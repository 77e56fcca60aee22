"""The santacoder preset on a real Flink engine: a local Flink cluster with 2 task slots, started by Beam's Flink
job server (built by ``make jars``), and Python SDK workers in separate processes from Beam's worker pool: the
same portable Fn API harness that Dataflow Runner v2 uses. Its output must be byte-identical to the local run's.
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
from apache_beam.options.pipeline_options import FlinkRunnerOptions, JobServerOptions

from pipeline import runners
from pipeline.options import parse
from pipeline.runners import FLINK
from release.verify import check_ledger
from tests.conftest import ROOT, base_args
from tests.pipeline.helpers import file_bytes, read_rows
from tests.pipeline.test_full_run import full_run  # noqa: F401  (the session's local reference run)

needs_java = pytest.mark.skipif(
    shutil.which("java") is None or shutil.which("mvn") is None,
    reason="the Flink job server needs Java and Maven (make jars)",
)
POOL_START_S = 60
RUN_LIMIT_S = 600


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        return sock.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
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
    port = _free_port()
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
        _stop(proc)


def _flink_options(tmp_path, *extra: str):
    return parse(
        ["--input", str(tmp_path), "--output", str(tmp_path / "out"), "--runner=FlinkRunner", *extra]
    )


def test_flink_finds_the_project_jar_and_keeps_the_users(tmp_path, monkeypatch):
    jars = tmp_path / "jars"
    jars.mkdir()
    (jars / FLINK.jar_name).write_bytes(b"PK")
    monkeypatch.setattr(runners, "JAR_DIR", jars)
    flink = _flink_options(tmp_path).view_as(FlinkRunnerOptions)
    assert flink.flink_job_server_jar == str(jars / FLINK.jar_name)
    assert _flink_options(tmp_path).view_as(JobServerOptions).job_server_jvm_properties == ["-Xss16m"]
    mine = _flink_options(tmp_path, "--job_server_jvm_property=-Xss64m").view_as(JobServerOptions)
    assert mine.job_server_jvm_properties == ["-Xss64m"]
    own = _flink_options(tmp_path, "--flink_job_server_jar=/opt/my.jar").view_as(FlinkRunnerOptions)
    assert own.flink_job_server_jar == "/opt/my.jar"
    assert runners.make_runner(_flink_options(tmp_path)) is None  # Beam builds FlinkRunner from the options
    assert isinstance(runners.make_runner(parse(["--input", "x", "--output", "y"])), runners.FnApiRunner)


def test_flink_without_the_jar_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setattr(runners, "JAR_DIR", tmp_path / "none")
    with pytest.raises(SystemExit, match="make jars"):
        _flink_options(tmp_path, "--flink_master=[local]")


@needs_java
def test_flink_gives_identical_bytes(full_run, sample_dir, shared_dir, worker_pool, tmp_path):  # noqa: F811
    assert FLINK.jar.exists(), f"{FLINK.jar} is missing: run `make jars`"
    port, pool_log = worker_pool
    out = tmp_path / "flink"
    argv = base_args(sample_dir, out, shared_dir) + [
        "--preset",
        "santacoder",
        "--runner=FlinkRunner",
        "--flink_master=[local]",
        "--parallelism=2",
        "--environment_type=EXTERNAL",
        f"--environment_config=localhost:{port}",
    ]
    # A child process, so the job server (and its Flink cluster) ends with it; its own group, so a run past
    # the limit is ended whole.
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
        _stop(proc)
    text = log.decode(errors="replace")
    assert proc.returncode == 0, text[-5000:]
    # it ran on Flink, with SDK workers that the pool started as separate processes
    assert json.loads((out / "stats.json").read_text())["runner"] == "FlinkRunner"
    assert pool_log.read_text().count("Starting worker") >= 2

    assert check_ledger(out) == []
    local, flink = file_bytes(full_run), file_bytes(out)
    assert sorted(flink) == sorted(local)
    assert [name for name in local if local[name] != flink[name]] == []
    assert len(read_rows(out / "data", ["id"])) > 0
