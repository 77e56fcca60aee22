"""``--input hf://datasets/...`` through the real huggingface_hub filesystem, against the local test Hub."""

import json
import subprocess
import sys

import pyarrow.parquet as pq

from pipeline.output_files import parquet_files
from release.publish import publish
from tests.pipeline.helpers import pipeline_args
from tests.pipeline.ship_fixtures import make_fake_output
from tests.release.test_publish import REPO, ROOT, TOKEN, _offline_env, hub  # noqa: F401 (fixture)


def test_pipeline_reads_a_hub_dataset(tmp_path, hub):  # noqa: F811
    published = tmp_path / "published"
    make_fake_output(published)
    publish(str(published), REPO)
    local_ids = sorted(
        pq.read_table(parquet_files(published / "data" / "python"), columns=["id"])["id"].to_pylist()
    )

    out = tmp_path / "out"
    argv = pipeline_args(f"hf://datasets/{REPO}/data/python", out)
    code = f"import json; from pipeline.run import run; print(json.dumps(run({argv!r})['input']))"
    env = _offline_env(hub.endpoint, tmp_path / "hf_home")
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert TOKEN not in done.stdout + done.stderr
    info = json.loads(done.stdout.strip().splitlines()[-1])
    assert info["locations"] == [f"hf://datasets/{REPO}/data/python"] and info["schemes"] == ["hf"]
    assert info["files"] == len(parquet_files(published / "data" / "python"))
    assert info["docs"] == len(local_ids)
    kept = pq.read_table(parquet_files(out / "data"), columns=["id"])["id"].to_pylist()
    removed = pq.read_table(parquet_files(out / "removed"), columns=["id"])["id"].to_pylist()
    assert len(kept) + len(removed) == len(local_ids)
