"""The decontamination decision for one document: normalise once, search once, say where.

Pure core (no Beam): the stage wrapper builds one :class:`Decontaminator` per
worker and calls :meth:`Decontaminator.find` per document; ``bench/`` and the
tests call it directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from decontam.matcher import SubstringMatcher
from decontam.ngrams import NgramIndex
from decontam.strings import BenchmarkString, normalize, original_span, select_strings

MODES = ("substring", "ngram")


@dataclass(frozen=True)
class Finding:
    """A benchmark string found in a document; offsets are in the original content."""

    benchmark: str
    task_id: str
    field: str
    offset: int
    matched_chars: int
    match: str  # "substring" or "ngram"

    def detail(self) -> dict:
        return {
            "benchmark": self.benchmark,
            "task_id": self.task_id,
            "field": self.field,
            "offset": self.offset,
            "matched_chars": self.matched_chars,
            "match": self.match,
        }


class Decontaminator:
    """All benchmark strings compiled once; ``find`` is one pass over a document.

    ``mode="substring"``: case- and whitespace-insensitive substring of any
    string (the SantaCoder rule). ``mode="ngram"``: the same, plus any shared
    word ``ngram_size``-gram (a superset, so strictly stronger).
    """

    def __init__(
        self,
        strings: Sequence[BenchmarkString],
        mode: str = "substring",
        min_chars: int = 0,
        ngram_size: int = 13,
        ngram_max_tasks: int = 10,
        anchor_chars: int = 32,
    ):
        if mode not in MODES:
            raise ValueError(f"unknown decontamination mode {mode!r}; use one of {MODES}")
        selected = select_strings(strings, min_chars)
        self.substrings = SubstringMatcher(selected, anchor_chars=anchor_chars)
        self.ngrams = NgramIndex(selected, ngram_size, ngram_max_tasks) if mode == "ngram" else None

    def find(self, content: str) -> Finding | None:
        """The first benchmark string in ``content``, with its span in ``content``; None if clean."""
        match = self.substrings.find(normalize(content)) if self.substrings.may_occur(content) else None
        if match is not None:
            start, end = original_span(content, match.start, match.start + match.length)
        elif self.ngrams is not None:
            match = self.ngrams.find(content.lower())
            if match is None:
                return None
            start, end = match.start, match.start + match.length  # exact unless lower() changed lengths
        else:
            return None
        return Finding(match.benchmark, match.task_id, match.field, start, end - start, match.kind)
