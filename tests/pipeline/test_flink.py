"""The santacoder preset on a real Flink engine: a local Flink cluster with 2 task slots, started by Beam's Flink
job server (built by ``make jars``), and Python SDK workers in separate processes from Beam's worker pool: the
same portable Fn API harness that Dataflow Runner v2 uses. Its output must be byte-identical to the local run's.
"""

from __future__ import annotations

import pytest
from apache_beam.options.pipeline_options import FlinkRunnerOptions, JobServerOptions

from pipeline import runners
from pipeline.options import parse
from pipeline.runners import FLINK
from tests.conftest import base_args
from tests.pipeline.portable import assert_same_output, needs_java, run_job, worker_pool  # noqa: F401
from tests.pipeline.test_full_run import full_run  # noqa: F401  (the session's local reference run)


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
    run_job(argv)
    # it ran on Flink, with SDK workers that the pool started as separate processes
    assert pool_log.read_text().count("Starting worker") >= 2
    assert_same_output(full_run, out, "FlinkRunner")
