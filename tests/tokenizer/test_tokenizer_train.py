"""BPE training: digit splitting, lossless round trips, special-token ids, loading by transformers."""

from __future__ import annotations

import json
import logging
import random
import string

import pytest
from tokenizers import Tokenizer

from tokenizer.load import load_tokenizer
from tokenizer.train import (
    SPECIAL_TOKENS,
    main,
    save_tokenizer,
    special_token_ids,
    train_tokenizer,
)

SMALL_VOCAB = 1000  # what conftest.small_tokenizer_dir trains with

ROUND_TRIP_TEXTS = [
    "",
    "def f(x):\n\treturn x  # tab-indented\n",
    "line one\r\nline two\r\n\r\n\tindented\r\n",
    "naïve café — ünïcödé: 日本語のコード, emoji 😀🚀, combining e\u0301, zero-width\u200bjoin",
    "   leading spaces and trailing   \n\n\n",
    "mixed\ttabs \t and\x0bvertical\x0cform feed \x00 nul",
    "numbers 0 007 3.14159 1e-10 0xFF 1_000_000 ٣٤٥",
]


@pytest.fixture(scope="module")
def small_tokenizer(small_tokenizer_dir) -> Tokenizer:
    return load_tokenizer(small_tokenizer_dir)


def test_every_digit_is_its_own_token(small_tokenizer):
    encoding = small_tokenizer.encode("x = 1234567890 + 3.14159 * 2024", add_special_tokens=False)
    digit_tokens = [t for t in encoding.tokens if any(c.isdigit() for c in t)]
    assert digit_tokens == list("1234567890") + list("314159") + list("2024")
    # and the learned vocabulary holds no multi-digit token at all
    vocab = small_tokenizer.get_vocab(with_added_tokens=False)
    assert not [t for t in vocab if sum(c.isdigit() for c in t) > 1]


@pytest.mark.parametrize("text", ROUND_TRIP_TEXTS)
def test_decode_encode_is_identity(small_tokenizer, text):
    ids = small_tokenizer.encode(text, add_special_tokens=False).ids
    assert small_tokenizer.decode(ids, skip_special_tokens=False) == text


def test_small_vocab_puts_specials_right_after_the_base_vocab(small_tokenizer, small_tokenizer_dir):
    assert small_tokenizer.get_vocab_size(with_added_tokens=False) == SMALL_VOCAB
    assert small_tokenizer.get_vocab_size(with_added_tokens=True) == SMALL_VOCAB + 5
    assert [small_tokenizer.token_to_id(t) for t in SPECIAL_TOKENS] == [1000, 1001, 1002, 1003, 1004]
    config = json.loads((small_tokenizer_dir / "tokenizer_config.json").read_text())
    assert config["requested_vocab_size"] == SMALL_VOCAB
    assert config["special_token_ids"] == special_token_ids(SMALL_VOCAB)
    assert small_tokenizer.encode("a<fim-middle>b").ids[1] == 1002


def test_full_size_vocab_gives_santacoder_special_ids():
    """49,152 base tokens need ~49k distinct merges: 16,000 random 8-letter words give enough in ~2 s."""
    rng = random.Random(0)
    words = ["".join(rng.choice(string.ascii_letters) for _ in range(8)) for _ in range(16_000)]
    texts = [" ".join(words[i : i + 100]) for i in range(0, len(words), 100)]
    tokenizer = train_tokenizer(texts, vocab_size=49_152, show_progress=False)
    assert tokenizer.get_vocab_size(with_added_tokens=False) == 49_152
    assert {t: tokenizer.token_to_id(t) for t in SPECIAL_TOKENS} == {
        "<|endoftext|>": 49152,
        "<fim-prefix>": 49153,
        "<fim-middle>": 49154,
        "<fim-suffix>": 49155,
        "<fim-pad>": 49156,
    }
    assert tokenizer.get_vocab_size(with_added_tokens=True) == 49_157


def test_corpus_too_small_for_the_vocab_warns_and_specials_follow_what_was_learned(caplog):
    with caplog.at_level(logging.WARNING, logger="tokenizer.train"):
        tokenizer = train_tokenizer(["aaa bbb"] * 3, vocab_size=500, show_progress=False)
    base = tokenizer.get_vocab_size(with_added_tokens=False)
    assert 256 <= base < 500
    assert tokenizer.token_to_id("<|endoftext|>") == base
    assert "only supports" in caplog.text
    with pytest.raises(ValueError, match="below the 256-byte alphabet"):
        train_tokenizer(["x"], vocab_size=100)


def test_tokenizers_loads_the_saved_file_with_the_same_ids(small_tokenizer, small_tokenizer_dir):
    reloaded = Tokenizer.from_file(str(small_tokenizer_dir / "tokenizer.json"))
    text = ROUND_TRIP_TEXTS[3]
    assert reloaded.encode(text).ids == small_tokenizer.encode(text).ids
    assert reloaded.token_to_id("<fim-pad>") == 1004


def test_auto_tokenizer_loads_the_directory_offline(small_tokenizer, small_tokenizer_dir, monkeypatch):
    transformers = pytest.importorskip("transformers")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    auto = transformers.AutoTokenizer.from_pretrained(str(small_tokenizer_dir), local_files_only=True)
    assert auto.eos_token == auto.bos_token == "<|endoftext|>"
    assert auto.eos_token_id == auto.bos_token_id == auto.unk_token_id == 1000
    assert auto.convert_tokens_to_ids(list(SPECIAL_TOKENS)) == [1000, 1001, 1002, 1003, 1004]
    assert len(auto) == 1005
    for text in ROUND_TRIP_TEXTS:
        ids = auto(text, add_special_tokens=False)["input_ids"]
        assert ids == small_tokenizer.encode(text, add_special_tokens=False).ids
        assert auto.decode(ids) == text


def test_cli_trains_from_parquet_and_writes_the_three_files(data_dir, tmp_path, capsys):
    out = tmp_path / "cli_tok"
    main(
        ["--input", str(data_dir / "java"), str(data_dir / "javascript"), "--output", str(out)]
        + ["--vocab-size", "300", "--no-progress", "--batch-rows", "7"]
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["rows"] == 160 and summary["files"] == 4
    assert summary["base_vocab_size"] == 300
    assert summary["special_token_ids"]["<fim-prefix>"] == 301
    assert {p.name for p in out.iterdir()} >= {
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
    }
    special_map = json.loads((out / "special_tokens_map.json").read_text())
    assert special_map["eos_token"] == "<|endoftext|>"
    assert special_map["additional_special_tokens"] == list(SPECIAL_TOKENS)


def test_save_is_reproducible(small_tokenizer, tmp_path):
    save_tokenizer(small_tokenizer, tmp_path / "a")
    save_tokenizer(load_tokenizer(tmp_path / "a"), tmp_path / "b")
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
