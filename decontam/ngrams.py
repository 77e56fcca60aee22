"""Optional n-gram overlap test (off by default): a document sharing any word n-gram with a benchmark string.

GPT-3 and datatrove decontaminate with 13-grams of words; this catches
benchmark text that was lightly edited (renamed variables elsewhere in the
function, reflowed prose), which exact substrings miss. Words are ``\\w+`` runs
of the normalised (lower-cased) text. N-grams shared by more than
``max_tasks`` distinct benchmark tasks are boilerplate (MultiPL-E's Java import
header, ``import sys input = sys.stdin.readline``) and are ignored.

Vectorised: a document's words become ids in the benchmark vocabulary (a word
not in it can be part of no benchmark n-gram), a polynomial hash of every
window is computed with numpy, looked up with ``searchsorted`` in the sorted
table, and a hit is verified word by word, so hash collisions never remove.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from decontam.matcher import Match, unique_normalised
from decontam.strings import BenchmarkString

WORD = re.compile(r"\w+")
_BASE = 0x9E3779B97F4A7C15  # odd 64-bit multiplier; arithmetic wraps mod 2**64


def window_hashes(ids: np.ndarray, n: int) -> np.ndarray:
    """Hash of every length-``n`` window of ``ids`` (uint64, wrapping)."""
    count = len(ids) - n + 1
    if count <= 0:
        return np.empty(0, dtype=np.uint64)
    ids = ids.astype(np.uint64, copy=False)
    out = np.zeros(count, dtype=np.uint64)
    for j in range(n):
        power = np.uint64(pow(_BASE, n - 1 - j, 1 << 64))
        out += ids[j : j + count] * power
    return out


class NgramIndex:
    """Word n-grams of every benchmark string, in sorted numpy arrays."""

    def __init__(self, strings: Sequence[BenchmarkString], n: int = 13, max_tasks: int = 10):
        if n < 1:
            raise ValueError("n must be >= 1")
        self.n = n
        self.entries = unique_normalised(strings)
        self.vocab: dict[str, int] = {}
        self.entry_ids: list[np.ndarray] = []
        hashes, owners, positions = [], [], []
        for index, entry in enumerate(self.entries):
            ids = np.array(
                [
                    self.vocab.setdefault(w, len(self.vocab) + 1)
                    for w in WORD.findall(entry.sources[0].text.lower())
                ],
                dtype=np.int64,
            )
            self.entry_ids.append(ids)
            h = window_hashes(ids, n)
            hashes.append(h)
            owners.append(np.full(len(h), index, dtype=np.int32))
            positions.append(np.arange(len(h), dtype=np.int32))
        all_hashes = np.concatenate(hashes) if hashes else np.empty(0, np.uint64)
        all_owners = np.concatenate(owners) if owners else np.empty(0, np.int32)
        all_positions = np.concatenate(positions) if positions else np.empty(0, np.int32)
        keep = self._not_boilerplate(all_hashes, all_owners, max_tasks)
        order = np.lexsort((all_positions[keep], all_owners[keep], all_hashes[keep]))
        self.hashes = all_hashes[keep][order]
        self.owners = all_owners[keep][order]
        self.positions = all_positions[keep][order]
        self.ignored_boilerplate = int((~keep).sum())

    def _not_boilerplate(self, hashes: np.ndarray, owners: np.ndarray, max_tasks: int) -> np.ndarray:
        """Mask of n-grams that occur in at most ``max_tasks`` distinct (benchmark, task) pairs."""
        if len(hashes) == 0:
            return np.ones(0, dtype=bool)
        task_keys: dict[tuple[str, str], int] = {}
        entry_task = np.array(
            [
                task_keys.setdefault((e.sources[0].benchmark, e.sources[0].task_id), len(task_keys))
                for e in self.entries
            ],
            dtype=np.int64,
        )
        pairs = np.unique(np.stack([hashes, entry_task[owners].astype(np.uint64)], axis=1), axis=0)
        uniq, counts = np.unique(pairs[:, 0], return_counts=True)
        too_common = uniq[counts > max_tasks]
        return ~np.isin(hashes, too_common)

    def __len__(self) -> int:
        return len(self.hashes)

    def find(self, lowered_text: str) -> Match | None:
        """The first verified shared n-gram in ``text.lower()`` (by position), or None.

        The match's ``start``/``length`` are offsets in the lowered text.
        """
        if len(self.hashes) == 0:
            return None
        words = WORD.findall(lowered_text)
        if len(words) < self.n:
            return None
        get = self.vocab.get
        ids = np.fromiter((get(w, 0) for w in words), dtype=np.int64, count=len(words))
        unknown = np.concatenate([[0], np.cumsum(ids == 0)])
        clean = (unknown[self.n :] - unknown[: -self.n]) == 0
        starts = np.flatnonzero(clean)
        if len(starts) == 0:
            return None
        h = window_hashes(ids, self.n)[starts]
        where = np.searchsorted(self.hashes, h)
        where = np.minimum(where, len(self.hashes) - 1)
        for k in np.flatnonzero(self.hashes[where] == h):
            start_word = int(starts[k])
            window = ids[start_word : start_word + self.n]
            slot = int(where[k])
            while slot < len(self.hashes) and self.hashes[slot] == h[k]:
                owner, pos = int(self.owners[slot]), int(self.positions[slot])
                if np.array_equal(self.entry_ids[owner][pos : pos + self.n], window):
                    return self._match(lowered_text, start_word, owner)
                slot += 1
        return None

    def _match(self, text: str, start_word: int, owner: int) -> Match:
        spans = [m.span() for _, m in zip(range(start_word + self.n), WORD.finditer(text), strict=False)]
        start, end = spans[start_word][0], spans[-1][1]
        src = self.entries[owner].sources[0]
        return Match(src.benchmark, src.task_id, src.field, start, end - start, kind="ngram")
