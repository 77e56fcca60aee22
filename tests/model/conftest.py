"""Fixtures for the model tests: a tiny byte-level BPE tokenizer and tiny tokenized corpora.

The tokenizer is trained here with ``tokenizers`` (SantaCoder's special tokens
added after the base vocabulary, as ``tokenizer.train`` does) so these tests do
not depend on the tokenizer package.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from model.tokens import SPECIAL_TOKENS, TextCodec, load_codec


def code_corpus(limit_bytes: int = 200_000) -> list[str]:
    """Python source of the standard library's ``json`` and ``email`` packages: real code, same on every machine."""
    import email

    texts: list[str] = []
    total = 0
    for root in (Path(json.__file__).parent, Path(email.__file__).parent):
        for path in sorted(root.glob("*.py")):
            text = path.read_text(encoding="utf-8")
            texts.append(text)
            total += len(text)
            if total > limit_bytes:
                return texts
    return texts


def train_tiny_tokenizer(texts: list[str], vocab_size: int = 512) -> Tokenizer:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    tokenizer.add_special_tokens(list(SPECIAL_TOKENS))
    return tokenizer


@pytest.fixture(scope="session")
def corpus() -> list[str]:
    return code_corpus()


@pytest.fixture(scope="session")
def tokenizer_dir(tmp_path_factory, corpus) -> Path:
    directory = tmp_path_factory.mktemp("tokenizer")
    train_tiny_tokenizer(corpus).save(str(directory / "tokenizer.json"))
    return directory


@pytest.fixture(scope="session")
def codec(tokenizer_dir) -> TextCodec:
    return load_codec(tokenizer_dir)


@pytest.fixture(scope="session")
def token_docs(codec, corpus) -> list[np.ndarray]:
    """The corpus tokenized, one array per file, each ending with EOD."""
    return [np.array(codec.encode(text) + [codec.special.eod], dtype=np.uint16) for text in corpus]


@pytest.fixture(scope="session")
def small_docs(codec, corpus) -> list[np.ndarray]:
    """Three files cut to 1,500 tokens: small enough that 60 tiny-model steps visibly learn it."""
    return [np.array(codec.encode(text)[:1500] + [codec.special.eod], dtype=np.uint16) for text in corpus[:3]]


@pytest.fixture(autouse=True)
def _one_thread():
    """One torch thread: on a shared 2-core machine OpenMP spinning makes tiny models 5-10x slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, small_docs, codec) -> Path:
    """A tiny model trained 30 steps (loss well under uniform), saved with its tokenizer."""
    import torch

    from model.train import TrainSettings, train

    directory = tmp_path_factory.mktemp("tiny_model")
    settings = TrainSettings(
        config="tiny", tokens=30 * 64 * 4, seq_len=64, batch_size=4, seed=0, lr=1e-2, device="cpu"
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train(small_docs, codec, directory, settings, progress=False)
    finally:
        torch.set_num_threads(threads)
    return directory
