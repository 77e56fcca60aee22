"""``pipeline.run --tokenize_output``: kept documents become Megatron shards, one entry per document + EOD."""

import pyarrow.parquet as pq

from pipeline.run import run
from tests.conftest import base_args
from tokenizer.indexed import IndexedDataset
from tokenizer.load import load_tokenizer
from tokenizer.train import save_tokenizer, train_tokenizer


def test_tokenize_output_matches_kept_documents(spine_run, sample_dir, shared_dir, tmp_path):
    texts = [
        r["content"]
        for r in pq.read_table(next(iter(sorted((spine_run / "data").rglob("*.parquet"))))).to_pylist()
    ]
    tok_dir = save_tokenizer(
        train_tokenizer(texts[:50], vocab_size=600, show_progress=False), tmp_path / "tok"
    )
    out = tmp_path / "out"
    stats = run(
        base_args(sample_dir, out, shared_dir)
        + [
            "--stages",
            "basic",
            "--direct_running_mode",
            "in_memory",
            "--direct_num_workers",
            "1",
            "--tokenizer",
            str(tok_dir),
            "--tokenize_output",
            str(tmp_path / "shards" / "all"),
        ]
    )
    files = sorted((out / "data").rglob("*.parquet"))
    docs = [r["content"] for f in files for r in pq.read_table(f, columns=["content"]).to_pylist()]
    shards = IndexedDataset(tmp_path / "shards" / "all")
    assert len(shards) == len(docs) == stats["output"]["docs"] == stats["tokenized"]["all"]["documents"]
    tokenizer = load_tokenizer(tok_dir)
    eod = tokenizer.token_to_id("<|endoftext|>")
    for i in (0, len(docs) // 2, len(docs) - 1):
        assert list(shards[i]) == tokenizer.encode(docs[i]).ids + [eod]
