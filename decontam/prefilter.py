"""Whether any automaton key (anchor) occurs in a document: one compiled pass that lets clean documents skip
the automaton.

Why: nearly every document holds no anchor, yet :meth:`SubstringMatcher.find` paid for normalising it
(``bytes.translate``, ~450 MB/s) and for the pyahocorasick scan (~130 MB/s). This pass normalises the
UTF-8 bytes (ASCII lower-cased, ASCII whitespace deleted: :func:`decontam.strings.normalize`), then looks
up a ``w``-byte window (``w`` up to 8) starting at every ``step``-th byte in a hash table holding each
anchor's windows at its first ``step`` offsets: an occurrence of an anchor (at least ``w + step - 1``
bytes) always has one of those windows at a tested start. A hit is compared with the whole anchor. So it
answers exactly "does ``normalize(content)`` contain an anchor": UTF-8 is self-synchronising, so a byte
occurrence of an anchor is a character occurrence. Only a document that does goes through the automaton,
whose result is then the same as before by construction.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from decontam.strings import ASCII_SPACE, LOWER_ASCII, normalize
from dedup.minhash import compiled

WINDOW = 8  # bytes of a window: one 64-bit key
MAX_STEP = 4  # windows tested per anchor length: more skip more bytes, and put more keys in the table
LOWER = np.frombuffer(LOWER_ASCII, dtype=np.uint8).copy()
SKIP = np.zeros(256, dtype=np.bool_)
SKIP[np.frombuffer(ASCII_SPACE, dtype=np.uint8)] = True


@compiled
def _hash(key):
    """64-bit hash of a key (multiply-shift: the top bits are used)."""
    return key * np.uint64(0x9E3779B97F4A7C15)


@compiled
def _contains_anchor(data, lower, skip, shape, seen, keys, first, last, anchors, starts, offsets, blob):
    """Whether the normalised ``data`` holds an anchor. ``shape``: window bytes, step, bitmap bits, table
    bits. ``seen``: a bitmap of the windows' hashes that rejects nearly every tested start from a small
    array; the table (linear probing) holds each window and, ``first[s]:last[s]``, the anchors
    (``anchors``) it starts ``starts`` bytes into; anchor ``a`` is ``blob[offsets[a]:offsets[a + 1]]``.
    No branch on the text's bytes in the first loop (whitespace comes at random): each byte is written,
    and the next one overwrites it when it was whitespace."""
    out = np.empty(len(data) + 1, dtype=np.uint8)
    n = 0
    for i in range(len(data)):
        byte = data[i]
        out[n] = lower[byte]
        n += 1 - np.int64(skip[byte])
    width, step = shape[0], shape[1]
    seen_shift, slot_shift = np.uint64(64 - shape[2]), np.uint64(64 - shape[3])
    size = len(keys)
    for b in range(0, n - width + 1, step):
        key = np.uint64(0)
        for k in range(width):
            key = (key << np.uint64(8)) | np.uint64(out[b + k])
        mixed = _hash(key)
        bit = mixed >> seen_shift
        if not (seen[bit >> np.uint64(6)] >> (bit & np.uint64(63))) & np.uint64(1):
            continue
        slot = np.int64(mixed >> slot_shift)
        while first[slot] != last[slot]:
            if keys[slot] == key:
                for entry in range(first[slot], last[slot]):
                    anchor = anchors[entry]
                    t = b - starts[entry]
                    a, z = offsets[anchor], offsets[anchor + 1]
                    if t < 0 or t + z - a > n:
                        continue
                    same = True
                    for k in range(z - a):
                        if out[t + k] != blob[a + k]:
                            same = False
                            break
                    if same:
                        return True
                break
            slot = (slot + 1) & (size - 1)
    return False


@compiled
def _insert(unique, mixed, slot_bits, keys, first, last, group_start, group_size):
    """Each distinct window into the table (linear probing) with its entries' range."""
    size = len(keys)
    for index in range(len(unique)):
        slot = np.int64(mixed[index] >> np.uint64(64 - slot_bits))
        while first[slot] != last[slot]:
            slot = (slot + 1) & (size - 1)
        keys[slot] = unique[index]
        first[slot] = group_start[index]
        last[slot] = group_start[index] + group_size[index]


class AnchorFilter:
    """Exact test "some anchor occurs in ``normalize(content)``" (anchors: normalised, non-empty)."""

    def __init__(self, anchors: Sequence[str]):
        encoded = [anchor.encode("utf-8", "surrogatepass") for anchor in anchors]
        self.empty = not encoded
        shortest = min(map(len, encoded), default=WINDOW)
        width = min(WINDOW, shortest)
        step = min(MAX_STEP, shortest - width + 1)
        self.offsets = np.cumsum([0, *map(len, encoded)], dtype=np.int64)
        self.blob = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        # every anchor's windows at its first ``step`` starts (anchor by anchor), grouped by window
        starts = np.tile(np.arange(step, dtype=np.int64), len(encoded))
        at = np.repeat(self.offsets[:-1], step) + starts
        windows = np.zeros(len(at), dtype=np.uint64)
        for k in range(width):
            windows = (windows << np.uint64(8)) | self.blob[at + k].astype(np.uint64)
        order = np.argsort(windows, kind="stable")
        unique, group_start, group_size = np.unique(windows[order], return_index=True, return_counts=True)
        self.anchors = np.repeat(np.arange(len(encoded), dtype=np.int64), step)[order]
        self.starts = starts[order]
        slot_bits = max(4, (2 * len(unique) - 1).bit_length())  # table: load factor at most 1/2
        seen_bits = max(16, slot_bits + 5)  # bitmap: a window's bit set for one tested start in ~64 or fewer
        self.shape = np.array([width, step, seen_bits, slot_bits], dtype=np.int64)
        mixed = unique * np.uint64(0x9E3779B97F4A7C15)  # _hash, wrapping like the kernel's
        bit = mixed >> np.uint64(64 - seen_bits)
        self.seen = np.zeros(1 << (seen_bits - 6), dtype=np.uint64)
        np.bitwise_or.at(self.seen, bit >> np.uint64(6), np.uint64(1) << (bit & np.uint64(63)))
        size = 1 << slot_bits
        self.keys = np.zeros(size, dtype=np.uint64)
        self.first = np.zeros(size, dtype=np.int64)
        self.last = np.zeros(size, dtype=np.int64)
        _insert(unique, mixed, slot_bits, self.keys, self.first, self.last, group_start, group_size)
        self.contains("")  # compile (or load the cached machine code) now, not on the first document

    def contains(self, content: str) -> bool:
        """Whether ``normalize(content)`` contains an anchor (ASCII text is normalised in the kernel)."""
        if self.empty:
            return False
        if content.isascii():
            data = content.encode("ascii")
        else:
            data = normalize(content).encode("utf-8", "surrogatepass")
        return bool(
            _contains_anchor(
                np.frombuffer(data, dtype=np.uint8),
                LOWER,
                SKIP,
                self.shape,
                self.seen,
                self.keys,
                self.first,
                self.last,
                self.anchors,
                self.starts,
                self.offsets,
                self.blob,
            )
        )
