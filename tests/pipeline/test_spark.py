"""The santacoder preset on a real Spark engine: Spark in local mode with 2 cores, started by Beam's Spark job
server (built by ``make jars``), and Python SDK workers in separate processes from Beam's worker pool, as in
``test_flink``. Its output must be byte-identical to the local run's.
"""

from __future__ import annotations

import pytest
from apache_beam.options.pipeline_options import JobServerOptions, PortableOptions, SparkRunnerOptions

from pipeline import runners
from pipeline.options import parse
from pipeline.runners import SPARK
from tests.conftest import base_args
from tests.pipeline.portable import assert_same_output, needs_java, run_job, worker_pool  # noqa: F401
from tests.pipeline.test_full_run import full_run  # noqa: F401  (the session's local reference run)


def _spark_options(tmp_path, *extra: str):
    return parse(
        ["--input", str(tmp_path), "--output", str(tmp_path / "out"), "--runner=SparkRunner", *extra]
    )


def test_spark_finds_the_project_jar_and_keeps_the_users(tmp_path, monkeypatch):
    jars = tmp_path / "jars"
    jars.mkdir()
    (jars / SPARK.jar_name).write_bytes(b"PK")
    monkeypatch.setattr(runners, "JAR_DIR", jars)
    assert _spark_options(tmp_path).view_as(SparkRunnerOptions).spark_job_server_jar == str(
        jars / SPARK.jar_name
    )
    assert _spark_options(tmp_path).view_as(JobServerOptions).job_server_jvm_properties == ["-Xss16m"]
    own = _spark_options(tmp_path, "--spark_job_server_jar=/opt/my.jar").view_as(SparkRunnerOptions)
    assert own.spark_job_server_jar == "/opt/my.jar"
    assert runners.make_runner(_spark_options(tmp_path)) is None  # Beam builds SparkRunner from the options


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
    ],
)
def test_spark_keeps_its_workers_environments_for_the_job(tmp_path, monkeypatch, extra, cache_ms):
    monkeypatch.setattr(runners, "JAR_DIR", tmp_path)
    (tmp_path / SPARK.jar_name).write_bytes(b"PK")
    options = _spark_options(tmp_path, *extra).view_as(PortableOptions)
    assert int(options.environment_cache_millis) == cache_ms


def test_spark_without_the_jar_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setattr(runners, "JAR_DIR", tmp_path / "none")
    with pytest.raises(SystemExit, match="make jars.*--spark_job_server_jar"):
        _spark_options(tmp_path, "--spark_master_url=local[2]")


def test_the_spark_job_server_jar_holds_spark_itself():
    pom = runners.job_server_pom(SPARK)
    for part in ("core", "streaming", "sql"):  # "provided" by beam-runners-spark-3: a cluster has them
        assert f"<artifactId>spark-{part}_2.12</artifactId><version>3.2.2</version>" in pom
    assert "org.apache.beam.runners.spark.SparkJobServerDriver" in pom
    assert "spark-core" not in runners.job_server_pom(runners.FLINK)


@needs_java
def test_spark_gives_identical_bytes(full_run, sample_dir, shared_dir, worker_pool, tmp_path):  # noqa: F811
    assert SPARK.jar.exists(), f"{SPARK.jar} is missing: run `make jars`"
    port, pool_log = worker_pool
    out = tmp_path / "spark"
    argv = base_args(sample_dir, out, shared_dir) + [
        "--preset",
        "santacoder",
        "--runner=SparkRunner",
        "--spark_master_url=local[2]",
        "--environment_type=EXTERNAL",
        f"--environment_config=localhost:{port}",
    ]
    run_job(argv)
    # one SDK worker process for the whole job (without the environment cache: one per Spark task, ~50)
    assert pool_log.read_text().count("Starting worker") == 1
    assert_same_output(full_run, out, "SparkRunner")
