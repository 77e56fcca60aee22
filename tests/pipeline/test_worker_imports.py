"""Beam as a local worker imports it (``pipeline.worker_imports``): without the BigQuery and Pub/Sub
clients and pandas (nor does pyarrow import pandas later), with all a worker runs. Each case is a fresh
interpreter: this one has imported Beam whole."""

from __future__ import annotations

import json
import subprocess
import sys

from pipeline.worker_imports import NOT_IN_WORKERS
from tests.conftest import base_args
from tests.pipeline.helpers import pipeline_args

REPORT = """
import json, sys
from apache_beam.io.filesystems import FileSystems
loaded = sorted(name for name in NOT_IN_WORKERS if name in sys.modules)
filesystems = sorted(type(FileSystems.get_filesystem(path)).__name__ for path in ("/tmp/x", "gs://b/x", "s3://b/x"))
harness = "apache_beam.runners.worker.sdk_worker_main" in sys.modules
import pyarrow as pa, pyarrow.compute as pc  # what a stage does with Python objects: pyarrow's pandas check
batch = pa.RecordBatch.from_pylist([{"id": "a", "n": 1}, {"id": "b", "n": None}])
assert pc.fill_null(batch.column("n"), 0).to_pylist() == [1, 0]
arrow_left_pandas_out = "pandas" not in sys.modules
assert pa.table({"n": [1, 2]}).to_pandas()["n"].sum() == 3  # asked for by name, pandas imports
from apache_beam.runners.dataflow.dataflow_runner import DataflowRunner  # still imports
import google.cloud.bigquery, apache_beam.io.gcp.bigquery  # hidden only during Beam's import
print(json.dumps({"loaded": loaded, "filesystems": filesystems, "harness": harness,
                  "arrow_left_pandas_out": arrow_left_pandas_out}))
"""


def run_fresh(code: str, *args: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", f"NOT_IN_WORKERS = {list(NOT_IN_WORKERS)!r}\n{code}{REPORT}", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Traceback" not in out.stderr and "Could not find" not in out.stderr, out.stderr
    return json.loads(out.stdout.splitlines()[-1])


def test_a_worker_imports_beam_without_bigquery_and_pubsub_and_with_every_filesystem():
    code = (
        "from pipeline.worker_imports import import_worker_beam\nimport_worker_beam()\nimport_worker_beam()\n"
    )
    assert run_fresh(code) == {
        "loaded": [],
        "filesystems": ["GCSFileSystem", "LocalFileSystem", "S3FileSystem"],
        "harness": True,
        "arrow_left_pandas_out": True,
    }


def test_a_client_already_imported_is_not_hidden():
    code = "import google.cloud.pubsub\nfrom pipeline.worker_imports import import_worker_beam\nimport_worker_beam()\n"
    loaded = run_fresh(code)["loaded"]
    assert "google.cloud.pubsub" in loaded and "google.cloud.bigquery" not in loaded


def test_the_warm_workers_parent_preloads_beam_so(sample_dir, shared_dir, tmp_path):
    """The zygote's preload (``pipeline.run._preload``): Beam for the workers, then the stages' set-up."""
    argv = base_args(sample_dir, tmp_path / "out", shared_dir) + ["--stages", "basic"]
    code = "import json, sys\nfrom pipeline.run import _preload\n_preload(json.loads(sys.argv[1]))\n"
    found = run_fresh(code, json.dumps(argv))
    assert found["loaded"] == [] and found["harness"] is True


def test_the_launcher_imports_beam_whole(sample_dir, shared_dir, tmp_path):
    """Only workers leave them out: a run's own process (here one in-process worker) keeps Beam's namespace
    as documented."""
    argv = pipeline_args(str(sample_dir), tmp_path / "out")
    code = (
        "import json, sys\nfrom pipeline.run import run\nrun(json.loads(sys.argv[1]))\n"
        "import apache_beam as beam\nassert hasattr(beam.io, 'ReadFromBigQuery')\n"
    )
    assert run_fresh(code, json.dumps(argv))["loaded"] == sorted(NOT_IN_WORKERS)
    assert (tmp_path / "out" / "stats.json").exists()
