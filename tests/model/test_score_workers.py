"""The score stage as remote workers run it: the model read from an object store into a local cache once,
shared across processes on request, and never a path of the launching machine."""

from __future__ import annotations

import threading
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from model.configs import load_model
from model.score import score_texts
from pipeline import store
from pipeline.graph import check_stages
from pipeline.inputs import input_schema
from pipeline.stages.base import ConfigError, StageContext
from pipeline.stages.score import SPEC, ScoreConfig, ScoreJudge, fetch_model_dir
from tests.stage_runner import run_stage, write_docs
from tokenizer.load import load_tokenizer

BUCKET = "stackcurate-models"


def _texts(corpus) -> list[str]:
    return [corpus[i][:500] for i in range(4)] + [""]


@pytest.fixture
def s3(monkeypatch):
    """An in-process S3 (moto) that Beam's S3 filesystem talks to; FileSystems' options are restored after."""
    moto = pytest.importorskip("moto")
    import boto3

    for key, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}.items():
        monkeypatch.setenv(key, value)
    previous = FileSystems._pipeline_options
    with moto.mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        keys = ["--s3_access_key_id=test", "--s3_secret_access_key=test"]
        FileSystems.set_options(PipelineOptions(["--s3_region_name=us-east-1", *keys]))
        try:
            yield client
        finally:
            FileSystems.set_options(previous)


def _upload(client, folder: Path, prefix: str) -> str:
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            client.put_object(
                Bucket=BUCKET, Key=f"{prefix}/{path.relative_to(folder)}", Body=path.read_bytes()
            )
    return f"s3://{BUCKET}/{prefix}"


def test_model_from_s3_is_copied_once_and_scores_like_the_local_folder(
    s3, tiny_model_dir, codec, corpus, tmp_path, monkeypatch
):
    url = _upload(s3, tiny_model_dir, "tiny")
    monkeypatch.setenv("STACKCURATE_MODEL_CACHE", str(tmp_path / "cache"))
    scorer = ScoreJudge(url, None, max_tokens=128, batch_size=4, device="cpu").load()
    texts = _texts(corpus)
    expected = score_texts(load_model(tiny_model_dir, "cpu"), codec, texts, 128)
    got = scorer.score(texts, 128, 4)
    assert [s.tokens for s in got] == [s.tokens for s in expected] and got[-1].tokens == 0
    assert [s.loss for s in got[:-1]] == pytest.approx([s.loss for s in expected[:-1]], rel=1e-6)

    for tokenizer_url in (url, f"{url}/tokenizer.json"):  # the one tokenizer loader reads s3:// too
        assert load_tokenizer(tokenizer_url).get_vocab() == codec.tokenizer.get_vocab()

    (copy,) = (tmp_path / "cache" / "stackcurate-models").iterdir()  # one complete copy, no scratch left
    local = {p.relative_to(tiny_model_dir): p.read_bytes() for p in tiny_model_dir.rglob("*") if p.is_file()}
    assert {p.relative_to(copy): p.read_bytes() for p in copy.rglob("*") if p.is_file()} == local

    def no_download(*args):
        raise AssertionError("a cached model was downloaded again")

    with monkeypatch.context() as patch:
        patch.setattr(store, "download", no_download)
        assert fetch_model_dir(url) == copy
    s3.put_object(
        Bucket=BUCKET, Key="tiny/config.json", Body=(tiny_model_dir / "config.json").read_bytes() + b" "
    )
    assert fetch_model_dir(url) != copy  # uploaded again: fetched again


def test_concurrent_fetches_leave_one_complete_copy(tiny_model_dir, tmp_path):
    """Beam's local filesystem stands in for a store here; two processes' worth of threads fetch at once."""
    results: list[Path] = []
    barrier = threading.Barrier(3)

    def fetch() -> None:
        barrier.wait()
        results.append(fetch_model_dir(str(tiny_model_dir), cache_root=str(tmp_path)))

    threads = [threading.Thread(target=fetch) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1
    assert [p.name for p in (tmp_path / "stackcurate-models").iterdir()] == [results[0].name]
    assert (results[0] / "config.json").read_bytes() == (tiny_model_dir / "config.json").read_bytes()


def test_a_folder_without_config_is_a_clear_error(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights.bin").write_bytes(b"x")
    with pytest.raises(FileNotFoundError, match="holds no config.json"):
        fetch_model_dir(str(tmp_path / "model"), cache_root=str(tmp_path / "cache"))


def test_model_shared_across_processes_scores_like_a_direct_call(tiny_model_dir, codec, corpus, tmp_path):
    """``share_model``: one process serves the model and the judge holds a proxy to it (Beam's
    MultiProcessShared); the stage must only call methods on it, and the numbers must not change."""
    texts = _texts(corpus)[:-1]
    docs = [
        {
            "id": f"{i:020x}",
            "content": t,
            "lang": "python",
            "max_stars_repo_name": "o/r",
            "max_stars_repo_path": "a",
        }
        for i, t in enumerate(texts)
    ]
    config = ScoreConfig(
        enabled=True, model=str(tiny_model_dir), max_tokens=128, batch_size=2, share_model=True
    )
    judge = SPEC.make_judge(config, StageContext())()
    assert judge.shared_across_processes()
    kept, removed = run_stage(SPEC, config, docs, tmp_path)
    assert removed == []
    expected = score_texts(load_model(tiny_model_dir, "cpu"), codec, texts, 128)
    by_id = {d["id"]: d["score_loss"] for d in kept}
    assert [by_id[d["id"]] for d in docs] == pytest.approx([s.loss for s in expected], rel=1e-5)


def test_sharing_across_processes_defaults_to_gpu_only(tiny_model_dir):
    def judge(device: str, share: bool | None = None) -> ScoreJudge:
        return ScoreJudge(str(tiny_model_dir), None, 128, 4, None, device, share)

    assert not judge("cpu").shared_across_processes()
    assert judge("cuda").shared_across_processes()  # decided on the worker; no GPU needed to ask
    assert not judge("cuda", share=False).shared_across_processes()
    assert judge("cpu", share=True).shared_across_processes()


@pytest.mark.parametrize(
    "argv, allowed",
    [
        (["--runner=FlinkRunner", "--flink_master=flink.example.com:8081"], False),
        (["--runner=FlinkRunner", "--flink_master=[local]", "--environment_type=DOCKER"], False),
        (["--runner=FlinkRunner", "--flink_master=[local]"], True),
    ],
)
def test_a_local_model_folder_needs_workers_on_this_machine(argv, allowed, tiny_model_dir, tmp_path):
    """The spec declares the model folder as a local path; the graph refuses it where workers run elsewhere."""
    config = ScoreConfig(enabled=True, model=str(tiny_model_dir))
    assert SPEC.resources(config).local_paths == (str(tiny_model_dir),)
    schema = input_schema([str(write_docs([{"content": "x"}], tmp_path))])
    pipeline = beam.Pipeline(options=PipelineOptions(argv))
    if allowed:
        check_stages([(SPEC, config)], schema, pipeline)
        return
    with pytest.raises(ConfigError, match="stage score: .* upload it"):
        check_stages([(SPEC, config)], schema, pipeline)
    # a model in a store (or a Hub id) is what such a runner's workers can read
    check_stages([(SPEC, ScoreConfig(enabled=True, model=f"s3://{BUCKET}/tiny"))], schema, pipeline)
