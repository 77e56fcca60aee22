"""Char-to-token ratio with a byte-level BPE trained here on real code (the sample when it exists)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from filters.fertility import DEFAULT_CUTOFFS, CharTokenRatio, keep_fertility
from tests.stage_runner import run_stage
from tokenizer.load import load_tokenizer


@pytest.fixture(scope="module")
def corpus(sample_dir: Path) -> list[str]:
    """Real code: the project sample's contents."""
    texts = [
        t for path in sorted(sample_dir.glob("*.parquet")) for t in pq.read_table(path)["content"].to_pylist()
    ]
    return [t for t in texts if t][:400]


@pytest.fixture(scope="module")
def tokenizer_path(corpus: list[str], tmp_path_factory) -> Path:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(corpus, trainer=trainer)
    tokenizer.enable_truncation(max_length=16)  # saved with truncation on: loading must turn it off
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    tokenizer.save(str(path))
    return path


def test_load_from_file_or_directory(tokenizer_path: Path) -> None:
    assert load_tokenizer(str(tokenizer_path)).get_vocab_size() == 600
    assert load_tokenizer(str(tokenizer_path.parent)).get_vocab_size() == 600
    assert load_tokenizer(str(tokenizer_path)).truncation is None


def test_load_errors_are_clear_and_offline(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="holds no tokenizer.json"):
        load_tokenizer(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_tokenizer(str(tmp_path / "missing.json"))
    with pytest.raises(ValueError, match="no tokenizer given"):
        load_tokenizer("")


def test_unseen_bytes_are_one_token_each(tokenizer_path: Path) -> None:
    # "☃" is 3 UTF-8 bytes never seen in training: no merge applies, so 2 snowmen are 6 tokens.
    ratio = CharTokenRatio(load_tokenizer(tokenizer_path))
    assert ratio.scores(["☃☃", ""]) == [(6, 2 / 6), (0, None)]


def test_lone_surrogate_is_counted_as_a_replacement_character(tokenizer_path: Path) -> None:
    ratio = CharTokenRatio(load_tokenizer(tokenizer_path))
    counts = ratio.token_counts(["x = '\ud800'", "x = '\ufffd'", "x = 1"])
    assert counts[0] == counts[1]  # the batch holding the surrogate is retried with U+FFFD in its place


def test_batches_match_single_encodes_without_truncation(tokenizer_path: Path, corpus: list[str]) -> None:
    tokenizer = load_tokenizer(str(tokenizer_path))
    texts = corpus[:7]
    expected = [len(tokenizer.encode(text).ids) for text in texts]
    ratio = CharTokenRatio(load_tokenizer(tokenizer_path), batch_size=3)
    assert ratio.token_counts(texts) == expected
    assert max(expected) > 16  # the saved truncation (16) is off
    assert [r for _, r in ratio.scores(texts)] == [len(t) / n for t, n in zip(texts, expected, strict=True)]
    # code compresses: more than one character per token on real files with a 600-token vocabulary
    assert sum(map(len, texts)) / sum(expected) > 1.5


def test_cutoffs_at_the_boundary() -> None:
    assert DEFAULT_CUTOFFS == {"python": 2.5, "java": 2.9, "javascript": 2.6}
    assert keep_fertility(2.5, "python")
    assert not keep_fertility(2.4999999, "python")
    assert keep_fertility(2.9, "java") and not keep_fertility(2.8999999, "java")
    assert keep_fertility(2.6, "javascript") and not keep_fertility(2.5999999, "javascript")
    assert keep_fertility(0.5, "ruby")  # no cutoff: kept
    assert not keep_fertility(None, "python")  # no tokens at all


def test_missing_tokenizer_is_a_clear_error() -> None:
    from pipeline.stages.base import StageContext
    from pipeline.stages.fertility import SPEC, FertilityConfig

    with pytest.raises(ValueError, match="no tokenizer is given"):
        SPEC.make_judge(FertilityConfig(enabled=True), StageContext())


def test_stage_through_beam(tokenizer_path: Path, corpus: list[str], tmp_path: Path) -> None:
    from pipeline.stages.base import StageContext
    from pipeline.stages.fertility import SPEC, FertilityConfig

    assert SPEC.columns == {"char_token_ratio": "float64", "num_tokens": "int64"}
    ratio = CharTokenRatio(load_tokenizer(tokenizer_path))
    code = corpus[0]
    garbage = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(300))  # CJK noise: ~1/3 char per token
    (code_tokens, code_ratio), (garbage_tokens, garbage_ratio) = ratio.scores([code, garbage])
    assert garbage_ratio < 0.5 < code_ratio
    docs = [
        {"id": f"{i:020d}", "content": text, "lang": lang, "max_stars_repo_name": f"o/r{i}",
         "max_stars_repo_path": name}
        for i, (name, lang, text) in enumerate(
            [("code", "python", code), ("garbage", "python", garbage), ("ruby", "ruby", garbage), ("empty", "java", "")]
        )
    ]  # fmt: skip
    # the cutoff equals the code file's ratio exactly: "below the cutoff" is strict, so it is kept
    config = FertilityConfig(enabled=True, cutoffs={"python": code_ratio, "java": 2.9}, batch_size=2)
    kept, removed = run_stage(SPEC, config, docs, tmp_path, StageContext(tokenizer=str(tokenizer_path)))
    kept_by_path = {doc["max_stars_repo_path"]: doc for doc in kept}
    assert sorted(kept_by_path) == ["code", "ruby"]
    assert (kept_by_path["code"]["num_tokens"], kept_by_path["code"]["char_token_ratio"]) == (
        code_tokens,
        code_ratio,
    )
    assert kept_by_path["ruby"]["num_tokens"] == garbage_tokens
    details = {row["path"]: (row["reason"], json.loads(row["detail"])) for row in removed}
    assert details == {
        "garbage": (
            "low_char_token_ratio",
            {"char_token_ratio": garbage_ratio, "num_tokens": garbage_tokens, "cutoff": code_ratio},
        ),
        "empty": ("no_tokens", {"char_token_ratio": None, "num_tokens": 0, "cutoff": 2.9}),
    }


def test_config_key_wins_over_command_line(tokenizer_path: Path, tmp_path: Path) -> None:
    from pipeline.stages.base import StageContext
    from pipeline.stages.fertility import FertilityConfig, resolve_tokenizer

    config = FertilityConfig(enabled=True, tokenizer=str(tokenizer_path))
    assert resolve_tokenizer(config, StageContext(tokenizer="other")) == str(tokenizer_path)
    assert resolve_tokenizer(FertilityConfig(), StageContext(tokenizer="other")) == "other"
