"""Fertility report: exact chars-per-token per language, held-out exclusion, comparison column, JSON."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq

from tokenizer.fertility import counting_tokenizer, fertility, format_report, main, read_excluded_ids
from tokenizer.load import load_tokenizer
from tokenizer.train import train_tokenizer


def _expected(tokenizer, texts):
    chars = sum(len(t) for t in texts)
    tokens = sum(len(tokenizer.encode(t, add_special_tokens=False).ids) for t in texts)
    return chars, tokens


def test_chars_per_token_per_language(data_dir, small_tokenizer_dir, code_corpus):
    trained = load_tokenizer(small_tokenizer_dir)
    bytes_only = train_tokenizer(["x"], vocab_size=256, show_progress=False)  # 1 token per UTF-8 byte
    report = fertility([data_dir], {"trained": trained, "bytes": bytes_only}, batch_rows=13)
    assert sorted(report) == ["java", "javascript", "python"]
    for lang, texts in code_corpus.items():
        chars, tokens = _expected(trained, texts)
        entry = report[lang]
        assert entry["documents"] == len(texts) and entry["chars"] == chars
        assert entry["tokens"]["trained"] == tokens
        assert entry["chars_per_token"]["trained"] == round(chars / tokens, 4)
        utf8_bytes = sum(len(t.encode("utf-8")) for t in texts)
        assert entry["tokens"]["bytes"] == utf8_bytes
        assert entry["chars_per_token"]["trained"] > 1.5 * entry["chars_per_token"]["bytes"]
    table = format_report(report)
    assert table.splitlines()[0].split() == ["language", "docs", "chars", "bytes", "c/t", "trained", "c/t"]
    assert len(table.splitlines()) == 4


def test_training_sample_ids_are_excluded_and_rows_capped(data_dir, small_tokenizer_dir, tmp_path):
    first_java = pq.read_table(data_dir / "java" / "train-00000-of-00002.parquet").slice(0, 5)
    pq.write_table(first_java, tmp_path / "train_sample.parquet")
    excluded = read_excluded_ids([tmp_path / "train_sample.parquet"])
    assert len(excluded) == 5
    tokenizer = {"trained": load_tokenizer(small_tokenizer_dir)}
    report = fertility([data_dir], tokenizer, exclude_ids=excluded)
    assert report["java"]["documents"] == 75
    capped = fertility([data_dir], tokenizer, max_rows_per_lang=7)
    assert {lang: e["documents"] for lang, e in capped.items()} == {"java": 7, "javascript": 7, "python": 7}


def test_cli_writes_json_with_comparison(data_dir, small_tokenizer_dir, tmp_path, capsys):
    pq.write_table(pa.table({"content": ["print(12345)\n"], "lang": ["python"]}), tmp_path / "held.parquet")
    out = tmp_path / "fert.json"
    main(
        ["--input", str(tmp_path / "held.parquet"), "--tokenizer", str(small_tokenizer_dir)]
        + ["--compare", str(small_tokenizer_dir / "tokenizer.json"), "--output", str(out)]
    )
    report = json.loads(out.read_text())
    python = report["languages"]["python"]
    tokens = len(counting_tokenizer(small_tokenizer_dir).encode("print(12345)\n").ids)
    assert python["tokens"] == {"trained": tokens, "compare": tokens}
    assert python["chars_per_token"]["trained"] == round(13 / tokens, 4)
    assert "python" in capsys.readouterr().out


def test_gpt2_style_vocab_and_merges_directory_loads(small_tokenizer_dir, tmp_path):
    trained = load_tokenizer(small_tokenizer_dir)
    trained.model.save(str(tmp_path))  # writes vocab.json + merges.txt, as GPT-2 ships them
    gpt2_style = counting_tokenizer(tmp_path)
    text = "def main():\n    return 42\n"
    assert gpt2_style.encode(text).ids == trained.encode(text).ids
