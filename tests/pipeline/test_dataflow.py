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

from tests.conftest import ROOT

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


def _dry_run(argv: list[str]):
    """Build the job graph and let DataflowRunner turn it into a job, without submitting it."""
    import apache_beam as beam

    from pipeline.job import build, make_plan

    plan = make_plan(argv)
    pipeline = beam.Pipeline(options=plan.options)
    build(pipeline, plan)
    result = pipeline.run()
    return pipeline.runner, result, plan


@pytest.fixture(scope="module")
def dry_run_job(sample_dir: Path, shared_dir: Path):
    """Build (not submit) the documented job; returns (runner, job, argv, plan, local paths used)."""
    local = {
        "optout_list": str(shared_dir / "optout" / "optouts.jsonl"),
        "benchmarks_dir": str(shared_dir / "benchmarks"),
    }
    argv = _with(documented_command(), input=str(sample_dir), dry_run="True", **local)
    runner, result, plan = _dry_run(argv)
    return runner, result, argv, plan, local


ALL_VARIANTS = "stack-base+stars+comments+dedup-alt+fertility"
MODEL_URL = f"gs://{BUCKET}/models/tiny"
GPU = "type:nvidia-l4;count:1;install-nvidia-driver"


@pytest.fixture(scope="module")
def tokenizer_dir(sample_dir: Path, tmp_path_factory) -> Path:
    """A small tokenizer trained here, saved in a folder of this machine (as a user's would be)."""
    import pyarrow.parquet as pq

    from tokenizer.train import save_tokenizer, train_tokenizer

    texts = pq.read_table(sorted(sample_dir.glob("*.parquet"))[0], columns=["content"])["content"].to_pylist()
    folder = tmp_path_factory.mktemp("tokenizer")
    save_tokenizer(
        train_tokenizer([t for t in texts if t][:100], vocab_size=400, show_progress=False), folder
    )
    return folder


@pytest.fixture(scope="module")
def all_stages_job(sample_dir: Path, shared_dir: Path, tokenizer_dir: Path, tmp_path_factory):
    """The documented command with every variant (stars, comments, dedup-alt, fertility with a local
    tokenizer) and the score stage (model in a bucket, the local tokenizer, a GPU hint)."""
    overlay = tmp_path_factory.mktemp("config") / "score.yaml"
    overlay.write_text(f"stages:\n  score: {{enabled: true, model: '{MODEL_URL}', accelerator: '{GPU}'}}\n")
    local = {
        "optout_list": str(shared_dir / "optout" / "optouts.jsonl"),
        "benchmarks_dir": str(shared_dir / "benchmarks"),
        "tokenizer": str(tokenizer_dir),
        "config": str(overlay),
    }
    argv = _with(documented_command(), input=str(sample_dir), dry_run="True", preset=ALL_VARIANTS, **local)
    runner, result, plan = _dry_run(argv)
    return runner, result, argv, plan, local


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
    assert {"Read", "WriteData", "WriteLedgers"} <= names
    assert plan.output == f"gs://{BUCKET}/curated/santacoder"


def _payloads(runner):
    """``(top-level transform or component, bytes)`` for everything the job ships to workers: every
    transform's spec (DoFns and CombineFns unpickled from Beam's compressed encoding), coders, windowing
    strategies and environments."""
    from apache_beam.portability import common_urns
    from apache_beam.portability.api import beam_runner_api_pb2 as api

    components = runner.proto_pipeline.components
    combines = {
        common_urns.composites.COMBINE_PER_KEY.urn,
        common_urns.composites.COMBINE_GLOBALLY.urn,
        common_urns.combine_components.COMBINE_GROUPED_VALUES.urn,
    }
    for transform in components.transforms.values():
        name, payload = transform.unique_name.split("/")[0], transform.spec.payload
        yield name, _local_strings(payload)
        if transform.spec.urn == common_urns.primitives.PAR_DO.urn:
            yield name, _local_strings(api.ParDoPayload.FromString(payload).do_fn.payload)
        elif transform.spec.urn in combines:
            yield name, _local_strings(api.CombinePayload.FromString(payload).combine_fn.payload)
    for coder in components.coders.values():
        yield "coder", _local_strings(coder.spec.payload)
    for strategy in components.windowing_strategies.values():
        yield "windowing", _local_strings(strategy.window_fn.payload)
    for environment in components.environments.values():
        yield "environment", environment.payload


def local_paths_in_job(runner, roots: list[Path]) -> dict[str, set[str]]:
    """Every path under ``roots`` (this machine's folders) found in the job, with the transforms holding
    it; Python source files are left out (pickled lambdas carry their code's file name, never read)."""
    pattern = re.compile(b"(?:" + b"|".join(re.escape(str(r).encode()) for r in roots) + rb")[\w./+@=-]*")
    found: dict[str, set[str]] = {}
    for name, payload in _payloads(runner):
        for match in set(pattern.findall(payload)):
            path = match.decode()
            if not path.endswith(".py"):
                found.setdefault(path, set()).add(name)
    return found


def _roots(shared_dir: Path, tmp_path_factory) -> list[Path]:
    return [ROOT, shared_dir.resolve(), Path(tmp_path_factory.getbasetemp()), Path.home()]


def _only_the_read_step_names_input_files(found: dict[str, set[str]], sample_dir: Path) -> None:
    inputs = {path for path in found if path.startswith(str(sample_dir) + "/")}
    assert {path: found[path] for path in found.keys() - inputs} == {}
    # On Dataflow the input files are gs:// paths; here they are local, which also shows the scan sees paths.
    assert inputs and set().union(*(found[path] for path in inputs)) == {"Read"}


def test_no_local_path_inside_worker_payloads(dry_run_job, sample_dir, shared_dir, tmp_path_factory):
    runner = dry_run_job[0]
    _only_the_read_step_names_input_files(
        local_paths_in_job(runner, _roots(shared_dir, tmp_path_factory)), sample_dir
    )


def test_every_stage_and_variant_builds_a_dataflow_job(all_stages_job):
    runner, result, _, plan, _ = all_stages_job
    assert str(result.state) == "DONE"
    from pipeline.config import resolve

    every = set(resolve("stack-base").stages)  # every stage the presets know
    assert set(plan.config.enabled) == every, every - set(plan.config.enabled)
    names = {t.unique_name for t in runner.proto_pipeline.components.transforms.values()}
    for stage in every:
        assert f"Stage_{stage}" in names, stage
    components = runner.proto_pipeline.components
    gpu = {
        env_id
        for env_id, env in components.environments.items()
        if any(value == GPU.encode() for key, value in env.resource_hints.items() if "accelerator" in key)
    }
    on_gpu = {t.unique_name.split("/")[0] for t in components.transforms.values() if t.environment_id in gpu}
    assert on_gpu == {"Stage_score"}  # only the score stage asks for GPU workers
    # stack-v1 near-dedup, then dedup-alt as the second pass
    assert (plan.config.stages["near_dedup"].ngram, plan.config.stages["near_dedup_alt"].ngram) == (1, 5)


def test_every_stage_ships_its_state_not_a_local_path(
    all_stages_job, sample_dir, shared_dir, tokenizer_dir, tmp_path_factory
):
    """Fertility and score carry the local tokenizer's JSON, decontam the compressed strings of the local
    benchmarks; score names its model by URL; no stage holds a path of this machine."""
    from pipeline.stages.decontam import load_strings, pack_strings

    runner, _, _, plan, local = all_stages_job
    _only_the_read_step_names_input_files(
        local_paths_in_job(runner, _roots(shared_dir, tmp_path_factory)), sample_dir
    )
    holders: dict[bytes, set[str]] = {}
    tokenizer_json = (tokenizer_dir / "tokenizer.json").read_bytes()
    packed = pack_strings(load_strings(plan.config.stages["decontam"], local["benchmarks_dir"]))
    needles = {"tokenizer": tokenizer_json, "strings": packed, "model": MODEL_URL.encode()}
    for name, payload in _payloads(runner):
        for label, needle in needles.items():
            if needle in payload:
                holders.setdefault(label, set()).add(name)
    assert holders == {
        "tokenizer": {"Stage_fertility", "Stage_score"},
        "strings": {"Stage_decontam"},
        "model": {"Stage_score"},
    }


def test_a_local_model_folder_is_refused_for_dataflow(sample_dir, tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text("{}")
    overlay = tmp_path / "score.yaml"
    overlay.write_text(f"stages:\n  score: {{enabled: true, model: '{tmp_path / 'model'}'}}\n")
    argv = _with(
        documented_command(), input=str(sample_dir), dry_run="True", stages="score", config=str(overlay)
    )
    with pytest.raises(ValueError, match="upload it"):
        _dry_run(argv)


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
    from pipeline.job import make_plan

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
