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

from decontam.strings import _ASCII_SPACE, _LOWER_ASCII, normalize
from dedup.minhash import compiled

WINDOW = 8  # bytes of a window: one 64-bit key
MAX_STEP = 4  # windows tested per anchor length: more skip more bytes, and put more keys in the table
LOWER = np.frombuffer(_LOWER_ASCII, dtype=np.uint8).copy()
SKIP = np.zeros(256, dtype=np.bool_)
SKIP[np.frombuffer(_ASCII_SPACE, dtype=np.uint8)] = True


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


class AnchorFilter:
    """Exact test "some anchor occurs in ``normalize(content)``" (anchors: normalised, non-empty)."""

    def __init__(self, anchors: Sequence[str]):
        encoded = [anchor.encode("utf-8", "surrogatepass") for anchor in anchors]
        self.empty = not encoded
        shortest = min(map(len, encoded), default=WINDOW)
        width = min(WINDOW, shortest)
        step = min(MAX_STEP, shortest - width + 1)
        windows: dict[int, list[tuple[int, int]]] = {}  # window -> (anchor, its start in the anchor)
        for index, data in enumerate(encoded):
            for start in range(step):
                windows.setdefault(int.from_bytes(data[start : start + width], "big"), []).append(
                    (index, start)
                )
        slot_bits = max(4, (2 * len(windows) - 1).bit_length())  # table: load factor at most 1/2
        seen_bits = max(16, slot_bits + 5)  # bitmap: a window's bit set for one tested start in ~64 or fewer
        self.shape = np.array([width, step, seen_bits, slot_bits], dtype=np.int64)
        size = 1 << slot_bits
        self.seen = np.zeros(1 << (seen_bits - 6), dtype=np.uint64)
        self.keys = np.zeros(size, dtype=np.uint64)
        self.first = np.zeros(size, dtype=np.int64)
        self.last = np.zeros(size, dtype=np.int64)
        entries: list[tuple[int, int]] = []
        for key, members in windows.items():
            mixed = int(_hash(np.uint64(key)))
            bit = mixed >> (64 - seen_bits)
            self.seen[bit >> 6] |= np.uint64(1 << (bit & 63))
            slot = mixed >> (64 - slot_bits)
            while self.first[slot] != self.last[slot]:
                slot = (slot + 1) & (size - 1)
            self.keys[slot] = key
            self.first[slot], self.last[slot] = len(entries), len(entries) + len(members)
            entries.extend(members)
        self.anchors = np.array([anchor for anchor, _ in entries], dtype=np.int64)
        self.starts = np.array([start for _, start in entries], dtype=np.int64)
        self.offsets = np.cumsum([0, *map(len, encoded)], dtype=np.int64)
        self.blob = np.frombuffer(b"".join(encoded), dtype=np.uint8)
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
