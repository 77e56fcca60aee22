"""Find benchmark strings in documents in one pass, whatever the number of strings.

All strings go into one Aho-Corasick automaton (``pyahocorasick``) built once
per worker. Putting 120k whole strings (about 60M characters for APPS) in a
trie costs about 48 bytes per character (~3 GB), so each string is represented
by an *anchor*: a window of ``anchor_chars`` characters chosen, where the
string allows it, so that no two strings share an anchor. A hit on an anchor
is verified with one ``str.startswith`` of the whole string at the implied
position, so results are exactly those of a substring test of every string
(tests compare with the naive loop), at ~1/15 of the memory (32-char anchors:
~90 MB for 120k strings). Both the strings and the documents are in the
normalised form of :func:`decontam.strings.normalize`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import ahocorasick

from decontam.prefilter import AnchorFilter
from decontam.strings import BenchmarkString, normalize


@dataclass(frozen=True)
class Match:
    """Where a benchmark string was found, in the normalised document."""

    benchmark: str
    task_id: str
    field: str
    start: int  # offset in the normalised text
    length: int  # characters of the normalised string
    kind: str = "substring"  # or "ngram"


@dataclass(frozen=True)
class _Entry:
    text: str  # normalised
    sources: tuple[BenchmarkString, ...]  # every benchmark string with this normalised text


def unique_normalised(strings: Sequence[BenchmarkString]) -> list[_Entry]:
    """Group strings by normalised text, first appearance first (deterministic)."""
    groups: dict[str, list[BenchmarkString]] = {}
    for s in strings:
        norm = normalize(s.text)
        if norm:
            groups.setdefault(norm, []).append(s)
    return [_Entry(text, tuple(sources)) for text, sources in groups.items()]


# pyahocorasick finds a child by a linear scan, so the cost per character of a
# document is dominated by the number of children of the root (measured: 24
# root children ran at ~50 MB/s, 2 at ~95 MB/s). Anchors therefore start at '('
# where the string has one (nearly every code string), else at 'e' (nearly
# every piece of English prose: MBPP ``text``, questions). Only a string with
# neither is anchored at its start and adds a root child.
ANCHOR_STARTS = "(e"
MIN_ANCHOR = 12


def anchor_candidates(text: str, anchor: int) -> Iterator[int]:
    """Anchor positions in order of preference (see ``ANCHOR_STARTS``), then 0, then further in."""
    need = min(anchor, len(text), MIN_ANCHOR)
    for char in ANCHOR_STARTS:
        start = text.find(char)
        while start != -1 and len(text) - start >= need:
            yield start
            start = text.find(char, start + 1)
    yield from range(0, max(1, len(text) - need + 1), max(1, anchor // 2))


def choose_anchor(text: str, anchor: int, taken: dict) -> int:
    """The first candidate whose anchor no other string uses yet, else the first candidate."""
    first = None
    for offset in anchor_candidates(text, anchor):
        if text[offset : offset + anchor] not in taken:
            return offset
        first = offset if first is None else first
    return first or 0


class SubstringMatcher:
    """Exact (normalised) substring search of many strings at once."""

    def __init__(self, strings: Sequence[BenchmarkString], anchor_chars: int = 32):
        if anchor_chars < 4:
            raise ValueError("anchor_chars must be at least 4")
        self.entries = unique_normalised(strings)
        self.anchor_chars = anchor_chars
        anchors: dict[str, list[tuple[int, int]]] = {}
        for index, entry in enumerate(self.entries):
            text = entry.text
            chosen = choose_anchor(text, anchor_chars, anchors)
            anchors.setdefault(text[chosen : chosen + anchor_chars], []).append((index, chosen))
        self.shared_anchors = sum(1 for v in anchors.values() if len(v) > 1)
        self._automaton = ahocorasick.Automaton()
        for anchor, candidates in anchors.items():
            self._automaton.add_word(anchor, (len(anchor), tuple(candidates)))
        if anchors:
            self._automaton.make_automaton()
        self._empty = not anchors
        self._filter = AnchorFilter(list(anchors))

    def __len__(self) -> int:
        return len(self.entries)

    def _verified(self, text: str, end: int, value: tuple) -> list[Match]:
        anchor_len, candidates = value
        found = []
        for index, offset in candidates:
            start = end - anchor_len + 1 - offset
            entry = self.entries[index]
            if start >= 0 and text.startswith(entry.text, start):
                src = entry.sources[0]
                found.append(Match(src.benchmark, src.task_id, src.field, start, len(entry.text)))
        return found

    def may_occur(self, content: str) -> bool:
        """Whether an anchor occurs in ``normalize(content)``; when not, :meth:`find` finds nothing there
        (one compiled pass over the raw text: the clean document skips normalising and the automaton)."""
        return self._filter.contains(content)

    def find(self, normalised_text: str) -> Match | None:
        """The first verified match scanning left to right (by anchor end), or None."""
        if self._empty:
            return None
        for end, value in self._automaton.iter(normalised_text):
            found = self._verified(normalised_text, end, value)
            if found:
                return found[0]
        return None

    def find_all(self, normalised_text: str) -> list[Match]:
        """Every occurrence of every string (for audits and tests); sorted by start."""
        if self._empty:
            return []
        found = []
        for end, value in self._automaton.iter(normalised_text):
            found.extend(self._verified(normalised_text, end, value))
        return sorted(set(found), key=lambda m: (m.start, -m.length, m.benchmark, m.task_id, m.field))

    def stats(self) -> dict:
        auto = self._automaton.get_stats() if not self._empty else {}
        return {
            "strings": len(self.entries),
            "shared_anchors": self.shared_anchors,
            "nodes": auto.get("nodes_count", 0),
            "bytes": auto.get("total_size", 0),
        }
