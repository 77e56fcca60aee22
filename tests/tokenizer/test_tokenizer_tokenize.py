"""Curated parquet -> MMIDIDX shards: one document per file, EOD appended, per language or merged."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tokenizer.corpus import resolve_parquet_files
from tokenizer.indexed import IndexedDataset
from tokenizer.load import load_tokenizer
from tokenizer.tokenize import main, tokenize_to_indexed, tokenize_with_beam

EOD = 1000  # SMALL_VOCAB: the first special token


def expected_documents(data_dir, tokenizer_dir, lang=None):
    """Contents in file order then row order, each encoded and followed by EOD."""
    tokenizer = load_tokenizer(tokenizer_dir)
    docs = []
    for file in resolve_parquet_files(data_dir):
        table = pq.read_table(file)
        for content, row_lang in zip(table["content"].to_pylist(), table["lang"].to_pylist(), strict=True):
            if lang is None or row_lang.lower() == lang:
                docs.append(tokenizer.encode(content, add_special_tokens=False).ids + [EOD])
    return docs


def test_merged_shard_holds_every_document_with_eod(data_dir, small_tokenizer_dir, code_corpus, tmp_path):
    stats = tokenize_to_indexed([data_dir], small_tokenizer_dir, tmp_path / "merged", batch_rows=17)
    ds = IndexedDataset(tmp_path / "merged")
    expected = expected_documents(data_dir, small_tokenizer_dir)
    n_docs = sum(len(v) for v in code_corpus.values())
    assert len(ds) == len(expected) == n_docs == stats["all"]["documents"]
    assert ds.dtype == np.uint16
    assert [ds[i].tolist() for i in range(len(ds))] == expected
    assert stats["all"]["tokens"] == int(ds.sizes.sum())
    assert stats["all"]["chars"] == sum(len(t) for v in code_corpus.values() for t in v)
    assert all(ds[i][-1] == EOD and EOD not in ds[i][:-1] for i in range(len(ds)))


def test_per_language_shards(data_dir, small_tokenizer_dir, code_corpus, tmp_path):
    stats = tokenize_to_indexed(data_dir, small_tokenizer_dir, tmp_path / "tok", per_lang=True)
    assert sorted(stats) == ["java", "javascript", "python"]
    for lang in stats:
        ds = IndexedDataset(tmp_path / f"tok_{lang}")
        assert len(ds) == len(code_corpus[lang]) == stats[lang]["documents"]
        assert [d.tolist() for d in ds] == expected_documents(data_dir, small_tokenizer_dir, lang)


def test_literal_special_token_text_is_not_an_eod(small_tokenizer_dir, tmp_path):
    (tmp_path / "in").mkdir()
    contents = ['s = "<|endoftext|>"\n', "<fim-prefix>x<fim-suffix>"]
    pq.write_table(
        pa.table({"content": contents, "lang": ["python", "python"]}), tmp_path / "in" / "a.parquet"
    )
    tokenize_to_indexed(tmp_path / "in", small_tokenizer_dir, tmp_path / "lit")
    ds = IndexedDataset(tmp_path / "lit")
    tokenizer = load_tokenizer(small_tokenizer_dir)
    for i, content in enumerate(contents):
        tokens = ds[i].tolist()
        assert [t for t in tokens if t >= EOD] == [EOD]
        assert tokenizer.decode(tokens[:-1]) == content


def test_beam_path_gives_the_same_bytes(data_dir, small_tokenizer_dir, tmp_path):
    tokenize_to_indexed(data_dir, small_tokenizer_dir, tmp_path / "seq")
    parts = tokenize_with_beam(data_dir, small_tokenizer_dir, tmp_path / "beam")
    assert len(parts) == 6
    for suffix in (".bin", ".idx"):
        assert (tmp_path / f"beam{suffix}").read_bytes() == (tmp_path / f"seq{suffix}").read_bytes()


def test_cli_writes_shards_and_stats(data_dir, small_tokenizer_dir, code_corpus, tmp_path, capsys):
    prefix = tmp_path / "cli"
    main(
        ["--input", str(data_dir), "--tokenizer", str(small_tokenizer_dir / "tokenizer.json")]
        + ["--output", str(prefix), "--per-lang"]
    )
    stats = json.loads((tmp_path / "cli.stats.json").read_text())
    assert json.loads(capsys.readouterr().out) == stats
    assert {lang: entry["documents"] for lang, entry in stats.items()} == {
        lang: len(texts) for lang, texts in code_corpus.items()
    }
    assert len(IndexedDataset(tmp_path / "cli_java")) == 80


def test_missing_content_column_names_the_file(small_tokenizer_dir, tmp_path):
    pq.write_table(pa.table({"text": ["x"]}), tmp_path / "bad.parquet")
    with pytest.raises(ValueError, match=r"bad\.parquet: no 'content' column"):
        tokenize_to_indexed(tmp_path / "bad.parquet", small_tokenizer_dir, tmp_path / "out")


def test_works_on_the_pipeline_sample(sample_dir, small_tokenizer_dir, tmp_path):
    # one file of the sample keeps this test to a couple of CPU-seconds
    first = min(resolve_parquet_files(sample_dir), key=lambda f: f.stat().st_size)
    stats = tokenize_to_indexed([first], small_tokenizer_dir, tmp_path / "sample", per_lang=True)
    langs = [lang.lower() for lang in pq.read_table(first, columns=["lang"])["lang"].to_pylist()]
    assert {lang: entry["documents"] for lang, entry in stats.items()} == {
        lang: langs.count(lang) for lang in set(langs)
    }
    assert set(stats) <= {"python", "java", "javascript"}
    for entry in stats.values():
        assert int(IndexedDataset(entry["prefix"]).sizes.sum()) == entry["tokens"]
