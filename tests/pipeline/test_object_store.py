"""The documented command against an object store, as Dataflow sees gs://: no directories, listing by prefix.

A local S3-compatible server (moto, on 127.0.0.1) holds the sample as a folder of parquet files and the
opt-out list; ``python -m pipeline.run`` reads and writes there through Beam's own S3 filesystem. Then
the S3 output is checked (every part there, nothing else, the ledger invariant on what is read back),
tokenized and published to the local test Hub, and re-run into the same prefix.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.conftest import ROOT
from tests.pipeline.helpers import free_port, run_command

moto_server = pytest.importorskip("moto.server")
boto3 = pytest.importorskip("boto3")

BUCKET = "stackcurate-test"
KEYS = {"s3_access_key_id": "testing", "s3_secret_access_key": "testing", "s3_region_name": "us-east-1"}


@pytest.fixture(scope="module")
def s3(sample_dir: Path, shared_dir: Path):
    """(endpoint, boto3 client) of a moto server holding the sample's parquet files and the opt-out list."""
    port = free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=KEYS["s3_access_key_id"],
        aws_secret_access_key=KEYS["s3_secret_access_key"],
        region_name=KEYS["s3_region_name"],
    )
    client.create_bucket(Bucket=BUCKET)
    for path in sorted(sample_dir.glob("*.parquet")):
        client.upload_file(str(path), BUCKET, f"the-stack/data/{path.name}")
    client.upload_file(str(shared_dir / "optout" / "optouts.jsonl"), BUCKET, "lists/optouts.jsonl")
    yield endpoint, client
    server.stop()


def _s3_args(endpoint: str) -> list[str]:
    return [f"--s3_endpoint_url={endpoint}", *(f"--{k}={v}" for k, v in KEYS.items())]


def _keys(client, prefix: str) -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return sorted(o["Key"][len(prefix) :] for page in pages for o in page.get("Contents", []))


@pytest.fixture(scope="module")
def s3_run(s3, shared_dir: Path):
    """The documented command with every path on S3 (the benchmarks stay local: they are shipped)."""
    endpoint, client = s3
    args = [
        f"--input=s3://{BUCKET}/the-stack/data",
        f"--output=s3://{BUCKET}/out",
        f"--optout_list=s3://{BUCKET}/lists/optouts.jsonl",
        f"--benchmarks_dir={shared_dir / 'benchmarks'}",
        "--quiet",
        *_s3_args(endpoint),
    ]
    done = run_command(args)
    assert done.returncode == 0, done.stderr[-3000:]
    return endpoint, client, args


def _configure(endpoint: str) -> None:
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipeline import store

    store.configure(PipelineOptions(_s3_args(endpoint)))


def test_every_output_part_is_on_s3_and_nothing_else(s3_run):
    endpoint, client, _ = s3_run
    keys = _keys(client, "out/")
    side = [k for k in keys if "/" not in k]
    assert side == ["README.md", "report.html", "stats.json"]
    folders = {k.split("/")[0] for k in keys if "/" in k}
    assert folders == {"data", "removed", "modified"}  # no _work/, no staging, no INCOMPLETE marker
    stages = json.loads(client.get_object(Bucket=BUCKET, Key="out/stats.json")["Body"].read())["stages"]
    assert {k.split("/")[1] for k in keys if k.startswith("removed/")} == {s["name"] for s in stages}
    assert {k.split("/")[1] for k in keys if k.startswith("data/")} == {"java", "javascript", "python"}
    assert all(k.endswith(".parquet") for k in keys if "/" in k)


def test_ledger_invariant_holds_on_what_is_read_back_from_s3(s3_run, sample_dir):
    endpoint, client, _ = s3_run
    _configure(endpoint)
    from pipeline.output_files import load_stats
    from release.verify import check_ledger

    out = f"s3://{BUCKET}/out"
    assert check_ledger(out) == []
    stats = load_stats(out)
    local_rows = sum(pq.ParquetFile(p).metadata.num_rows for p in sample_dir.glob("*.parquet"))
    assert stats["input"]["docs"] == local_rows
    assert stats["input"]["schemes"] == ["s3"]
    assert stats["input"]["locations"] == [f"s3://{BUCKET}/the-stack/data"]
    assert stats["input"]["files"] == len(list(sample_dir.glob("*.parquet")))


def test_card_report_and_stats_carry_no_local_path(s3_run, sample_dir, shared_dir):
    _, client, _ = s3_run
    for name in ("README.md", "report.html", "stats.json"):
        text = client.get_object(Bucket=BUCKET, Key=f"out/{name}")["Body"].read().decode()
        for local in (str(sample_dir), str(shared_dir), str(ROOT), "/tmp/"):
            assert local not in text, (name, local)
    card = client.get_object(Bucket=BUCKET, Key="out/README.md")["Body"].read().decode()
    assert f"`s3://{BUCKET}/the-stack/data`" in card
    assert "\n# out\n" in card  # named after the output when not published


def test_tokenize_and_publish_from_the_s3_output(s3_run, tmp_path, monkeypatch):
    endpoint, client, _ = s3_run
    _configure(endpoint)
    from huggingface_hub import constants

    from pipeline.job import tokenize_data
    from release.publish import publish
    from tests.pipeline.hub_server import HubServer
    from tokenizer.indexed import IndexedDataset
    from tokenizer.train import save_tokenizer, train_tokenizer

    out = f"s3://{BUCKET}/out"
    data_keys = [k for k in _keys(client, "out/") if k.startswith("data/")]
    first = client.get_object(Bucket=BUCKET, Key=f"out/{data_keys[0]}")["Body"].read()
    (tmp_path / "first.parquet").write_bytes(first)
    texts = pq.read_table(tmp_path / "first.parquet", columns=["content"])["content"].to_pylist()
    tok = save_tokenizer(train_tokenizer(texts[:50], vocab_size=600, show_progress=False), tmp_path / "tok")

    stats = tokenize_data(out, str(tok), f"s3://{BUCKET}/shards/all", per_lang=False)
    assert _keys(client, "shards/") == ["all.bin", "all.idx"]
    for key in ("all.bin", "all.idx"):
        (tmp_path / key).write_bytes(client.get_object(Bucket=BUCKET, Key=f"shards/{key}")["Body"].read())
    kept = json.loads(client.get_object(Bucket=BUCKET, Key="out/stats.json")["Body"].read())["output"]["docs"]
    assert len(IndexedDataset(tmp_path / "all")) == stats["all"]["documents"] == kept

    with HubServer("hf_test_token") as server:
        monkeypatch.setattr(constants, "ENDPOINT", server.endpoint)
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
        monkeypatch.setenv("HF_TOKEN", "hf_test_token")
        publish(out, "curators/from-s3")
        files = server.repo("curators/from-s3").commits[-1].files
    for key in data_keys:
        assert files[key].data == client.get_object(Bucket=BUCKET, Key=f"out/{key}")["Body"].read()
    assert "# curators/from-s3" in files["README.md"].data.decode()


def test_rerun_into_the_same_prefix_replaces_the_output_and_leaves_nothing_behind(s3_run):
    endpoint, client, args = s3_run
    rerun = [a for a in args if not a.startswith("--benchmarks_dir")] + ["--stages=optout"]
    done = run_command(rerun)
    assert done.returncode == 0, done.stderr[-3000:]
    keys = _keys(client, "out/")
    assert {k.split("/")[1] for k in keys if k.startswith("removed/")} == {"optout", "validate"}
    assert not [k for k in keys if k.startswith(("_work", "INCOMPLETE"))]
    _configure(endpoint)
    from release.verify import check_ledger

    assert check_ledger(f"s3://{BUCKET}/out") == []


def test_a_benchmarks_folder_on_s3_gives_the_same_strings(s3, shared_dir):
    endpoint, client = s3
    root = shared_dir / "benchmarks"
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        client.upload_file(str(path), BUCKET, f"benchmarks/{path.relative_to(root).as_posix()}")
    _configure(endpoint)
    from decontam.loaders import load_benchmark_strings

    remote = load_benchmark_strings(source=f"s3://{BUCKET}/benchmarks")
    assert remote and remote == load_benchmark_strings(source=str(root))


def test_a_config_file_on_s3_is_read(s3):
    endpoint, client = s3
    client.put_object(
        Bucket=BUCKET, Key="configs/my.yaml", Body=b"stages:\n  basic:\n    max_line_length: 500\n"
    )
    _configure(endpoint)
    from pipeline.config import ConfigError, resolve

    assert resolve("stack-base", f"s3://{BUCKET}/configs/my.yaml").stages["basic"].max_line_length == 500
    with pytest.raises(ConfigError, match="no such file"):
        resolve("stack-base", f"s3://{BUCKET}/configs/missing.yaml")
