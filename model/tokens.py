"""The tokenizer as the model code sees it: encode, decode and the five special tokens.

Why a wrapper: our tokenizers are ``tokenizers`` JSON files written by
``tokenizer.train`` while SantaCoder's lives on the Hub; both end up as a
``tokenizers.Tokenizer`` here, so FIM, training, scoring and evaluation use one
interface.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer

from tokenizer.load import load_tokenizer
from tokenizer.train import EOD_TOKEN as EOD
from tokenizer.train import FIM_MIDDLE, FIM_PAD, FIM_PREFIX, FIM_SUFFIX, SPECIAL_TOKENS, save_tokenizer


@dataclass(frozen=True)
class SpecialIds:
    eod: int
    prefix: int
    middle: int
    suffix: int
    pad: int


class TextCodec:
    """A ``tokenizers.Tokenizer`` plus the ids of the SantaCoder special tokens."""

    def __init__(self, tokenizer: Tokenizer):
        self.tokenizer = tokenizer
        ids = {}
        for name in SPECIAL_TOKENS:
            token_id = tokenizer.token_to_id(name)
            if token_id is None:
                raise ValueError(f"tokenizer lacks the special token {name!r} (needed for EOD and FIM)")
            ids[name] = token_id
        self.special = SpecialIds(
            eod=ids[EOD],
            prefix=ids[FIM_PREFIX],
            middle=ids[FIM_MIDDLE],
            suffix=ids[FIM_SUFFIX],
            pad=ids[FIM_PAD],
        )

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size(with_added_tokens=True)

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self.tokenizer.encode_batch(texts, add_special_tokens=False)]

    def decode(self, ids) -> str:
        return self.tokenizer.decode([int(i) for i in ids], skip_special_tokens=False)


def load_codec(spec: str | Path) -> TextCodec:
    """A tokenizer from any spec ``tokenizer.load`` accepts: a local file or folder, a URL or a Hub id."""
    return TextCodec(load_tokenizer(spec))


def save_codec(codec: TextCodec, directory: str | Path) -> None:
    """Write the tokenizer next to a checkpoint (``tokenizer.train.save_tokenizer``: what
    ``AutoTokenizer.from_pretrained(dir)`` reads)."""
    save_tokenizer(codec.tokenizer, directory)
