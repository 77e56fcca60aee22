"""Char-to-token ratio ("fertility"): drop files the code tokenizer compresses badly.

``char_token_ratio = len(content) / number of tokens`` (characters, not
bytes, as bigcode-dataset's ``char_token_ratio`` did with ``len(code)``).
A file is dropped when its ratio is below its language's cutoff (Python 2.5,
Java 2.9, JavaScript 2.6 with SantaCoder's 49,152-token BPE); a language
without a cutoff is kept (the reference had no cutoff for others and would
have failed on them). The token count is kept as well: it is the training-
token budget later. Tokens are counted the way the reference counted them
(``tokenizer(code, truncation=False)``): special tokens the tokenizer's
post-processor adds are included, no truncation, no padding.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

DEFAULT_CUTOFFS = {"python": 2.5, "java": 2.9, "javascript": 2.6}
_SURROGATE = re.compile("[\ud800-\udfff]")


def _valid_utf8(text: str) -> str:
    """Lone surrogates (undecodable input kept by ``surrogateescape``) replaced by U+FFFD, one for one."""
    return _SURROGATE.sub("\ufffd", text)


class CharTokenRatio:
    """Counts tokens in batches with ``encode_batch``.

    ``tokenizer`` is a loaded ``tokenizers.Tokenizer`` with truncation and padding
    off (``tokenizer.load.load_tokenizer`` gives one). ``encode_batch`` does not
    change the tokenizer, so one instance may be used from several threads.
    """

    def __init__(self, tokenizer: Any, batch_size: int = 256):
        self._tokenizer = tokenizer
        self.batch_size = batch_size

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        counts: list[int] = []
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            try:
                encodings = self._tokenizer.encode_batch(batch)
            except TypeError:  # a lone surrogate cannot cross into Rust: count it as U+FFFD
                encodings = self._tokenizer.encode_batch([_valid_utf8(text) for text in batch])
            counts.extend(len(encoding.ids) for encoding in encodings)
        return counts

    def scores(self, texts: Sequence[str]) -> list[tuple[int, float | None]]:
        """``(num_tokens, char_token_ratio)`` per text; the ratio is None when there are no tokens."""
        return [
            (count, len(text) / count if count else None)
            for text, count in zip(texts, self.token_counts(texts), strict=True)
        ]


def keep_fertility(ratio: float | None, lang: str, cutoffs: dict[str, float] | None = None) -> bool:
    """Kept unless the ratio is below the language's cutoff; languages without a cutoff are kept."""
    cutoffs = DEFAULT_CUTOFFS if cutoffs is None else cutoffs
    cutoff = cutoffs.get(lang)
    if cutoff is None:
        return True
    return ratio is not None and ratio >= cutoff
