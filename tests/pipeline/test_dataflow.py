"""The documented Dataflow command builds a Dataflow job (``--dry_run=True``: nothing is submitted).

The command is read from ``docs/dataflow.md`` itself, so the docs cannot rot. Its placeholders are
filled with syntactically valid names, and the data paths (gs:// in the docs) point at the local
test sample, because building the graph lists the input files and reads the opt-out list. The job
graph is then checked for what a worker needs: our worker image, every stage of the preset, and no
path of this machine inside any worker payload other than the input files of the read step.
"""

from __future__ import annotations

import base64
import bz2
import re
import shlex
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "dataflow.md"
PROJECT, BUCKET = "stackcurate-test", "stackcurate-test-bucket"

pytest.importorskip("apache_beam.runners.dataflow.dataflow_runner")
pytest.importorskip("google.cloud.dataflow_v1beta3")  # apache-beam[gcp]


def documented_command() -> list[str]:
    """The argv of the command between the ``dataflow-command`` markers, placeholders filled."""
    text = DOC.read_text()
    block = re.search(r"<!-- dataflow-command: start -->\s*```bash\n(.*?)```", text, re.S).group(1)
    words = shlex.split(block.replace("\\\n", " "))
    assert words[:3] == ["python", "-m", "pipeline.run"]
    return [w.replace("MY_PROJECT", PROJECT).replace("MY_BUCKET", BUCKET) for w in words[3:]]


def _with(argv: list[str], **values: str | None) -> list[str]:
    """Replace (or drop, with None) ``--name=value`` options; add the ones not there."""
    out = [a for a in argv if a.split("=", 1)[0].lstrip("-") not in values]
    return out + [f"--{k}={v}" for k, v in values.items() if v is not None]


def _local_strings(payload: bytes) -> bytes:
    """The pickled bytes of a worker payload (Beam base64-encodes bz2- or zlib-compressed pickles)."""
    decoders = (
        lambda b: bz2.decompress(base64.b64decode(b)),
        lambda b: zlib.decompress(base64.b64decode(b)),
        bz2.decompress,
        zlib.decompress,
        lambda b: b,
    )
    for decode in decoders:
        try:
            return decode(payload)
        except Exception:  # noqa: BLE001 - try the next encoding
            continue
    return payload


@pytest.fixture(scope="module")
def dry_run_job(sample_dir: Path, shared_dir: Path, tmp_path_factory):
    """Build (not submit) the documented job; returns (runner, job, argv, local paths used)."""
    import apache_beam as beam

    from pipeline.run import build, make_plan

    local = {
        "optout_list": str(shared_dir / "optout" / "optouts.jsonl"),
        "benchmarks_dir": str(shared_dir / "benchmarks"),
    }
    argv = _with(documented_command(), input=str(sample_dir), dry_run="True", **local)
    plan = make_plan(argv)
    pipeline = beam.Pipeline(options=plan.options)
    build(pipeline, plan)
    result = pipeline.run()
    return pipeline.runner, result, argv, plan, local


def test_documented_command_builds_a_dataflow_job(dry_run_job):
    runner, result, argv, plan, _ = dry_run_job
    from apache_beam.portability import common_urns
    from apache_beam.portability.api import beam_runner_api_pb2

    assert type(runner).__name__ == "DataflowRunner"
    assert str(result.state) == "DONE"
    from apache_beam.options.pipeline_options import GoogleCloudOptions

    assert result.job.proto.name == "stackcurate-santacoder"
    gcp = plan.options.view_as(GoogleCloudOptions)
    assert (gcp.project, gcp.region, gcp.temp_location) == (PROJECT, "us-central1", f"gs://{BUCKET}/tmp")

    environments = runner.proto_pipeline.components.environments.values()
    images = set()
    for env in environments:
        assert env.urn == common_urns.environments.DOCKER.urn
        images.add(beam_runner_api_pb2.DockerPayload.FromString(env.payload).container_image)
    assert images == {f"us-central1-docker.pkg.dev/{PROJECT}/stackcurate/worker:0.1.0"}

    names = {t.unique_name for t in runner.proto_pipeline.components.transforms.values()}
    for stage in plan.config.enabled:
        assert f"Stage_{stage}" in names, stage
    assert {"Read", "WriteData", "Write_removed"} <= names
    assert plan.output == f"gs://{BUCKET}/curated/santacoder"


def test_no_local_path_inside_worker_payloads(dry_run_job, sample_dir):
    runner, _, _, _, local = dry_run_job
    from apache_beam.portability.api import beam_runner_api_pb2

    needles = {name: path.encode() for name, path in local.items()} | {"sample": str(sample_dir).encode()}
    baked: dict[str, set[str]] = {}
    for transform in runner.proto_pipeline.components.transforms.values():
        payload = transform.spec.payload
        if transform.spec.urn == "beam:transform:pardo:v1":
            payload = beam_runner_api_pb2.ParDoPayload.FromString(payload).do_fn.payload
        text = _local_strings(payload)
        for name, needle in needles.items():
            if needle in text:
                baked.setdefault(name, set()).add(transform.unique_name.split("/")[0])
    # Only the read step may name the (local, in this test) input files; on Dataflow they are gs:// paths.
    assert set(baked) <= {"sample"}, baked
    assert baked.get("sample") == {"Read"}, baked  # control: the detector does see paths in payloads


@pytest.mark.parametrize(
    "drop, message",
    [("temp_location", "--temp_location"), ("project", "--project"), ("region", "--region")],
)
def test_missing_dataflow_options_fail_fast_with_the_option_name(drop, message, sample_dir):
    from pipeline.options import parse

    argv = _with(documented_command(), input=str(sample_dir), **{drop: None})
    with pytest.raises(SystemExit, match=re.escape(message)):
        parse(argv)


def test_local_temp_location_is_refused(sample_dir):
    from pipeline.options import parse

    argv = _with(documented_command(), input=str(sample_dir), temp_location="/tmp/beam")
    with pytest.raises(SystemExit, match="gs://"):
        parse(argv)


def test_readme_shows_the_documented_command():
    """The README's Dataflow command is the one this file builds (same text between the markers)."""
    pattern = r"<!-- dataflow-command: start -->\s*```bash\n(.*?)```"
    readme = (DOC.parents[1] / "README.md").read_text()
    assert re.search(pattern, readme, re.S).group(1) == re.search(pattern, DOC.read_text(), re.S).group(1)


def test_hub_benchmarks_on_dataflow_point_to_prepared_strings(sample_dir, shared_dir, tmp_path, caplog):
    from pipeline.run import make_plan

    argv = _with(documented_command(), input=str(sample_dir), dry_run="True")
    with caplog.at_level("WARNING", logger="stackcurate"):
        make_plan(argv)
    assert "pipeline.prepare_decontam" in caplog.text
    caplog.clear()
    overlay = tmp_path / "decontam.yaml"
    overlay.write_text(f"stages:\n  decontam:\n    source: gs://{BUCKET}/decontam/strings.jsonl.gz\n")
    with caplog.at_level("WARNING", logger="stackcurate"):
        make_plan(_with(argv, config=str(overlay)))
        make_plan(_with(argv, benchmarks_dir=str(shared_dir / "benchmarks")))
    assert "prepare_decontam" not in caplog.text
