"""Whether any automaton key (anchor) occurs in a document: one compiled pass that lets clean documents skip
the automaton.

Why: nearly every document holds no anchor, yet :meth:`SubstringMatcher.find` paid for normalising it
(``bytes.translate``, ~450 MB/s) and for the pyahocorasick scan (~130 MB/s). This pass normalises the
UTF-8 bytes on the fly (ASCII lower-cased, ASCII whitespace deleted: :func:`decontam.strings.normalize`)
and looks up the last ``q`` bytes (``q`` = the shortest anchor, at most 16) in a hash table of the anchors'
first ``q`` bytes at every position; a hit is compared with the whole anchor. It answers exactly "does
``normalize(content)`` contain an anchor": UTF-8 is self-synchronising, so a byte occurrence of an anchor
is a character occurrence. Only a document that does goes through the automaton, whose result is then
the same as before by construction.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from decontam.strings import _ASCII_SPACE, _LOWER_ASCII, normalize
from dedup.minhash import compiled

MAX_KEY = 16  # bytes of each anchor looked up in the table (two 64-bit registers)
LOWER = np.frombuffer(_LOWER_ASCII, dtype=np.uint8).copy()
SKIP = np.zeros(256, dtype=np.bool_)
SKIP[np.frombuffer(_ASCII_SPACE, dtype=np.uint8)] = True


@compiled
def _hash(lo, hi):
    """64-bit hash of a key (multiply-shift: the top bits are used)."""
    return (lo * np.uint64(0x9E3779B97F4A7C15)) ^ (hi * np.uint64(0xC2B2AE3D27D4EB4F))


@compiled
def _contains_anchor(data, lower, skip, q, masks, bits, seen, keys_lo, keys_hi, first, last, offsets, blob):
    """Whether the normalised ``data`` holds an anchor.

    ``seen``: a bitmap (``bits[0]`` bits of the key hash) that rejects nearly every position from a
    cache-resident array; the table (``bits[1]`` bits, linear probing) holds each key and its anchors,
    ``first[s]:last[s]`` in ``offsets`` (byte ranges of ``blob``), where ``first[s] < last[s]``.
    No branch on the text's bytes in the first loop (whitespace comes at random): each byte is written,
    and the next one overwrites it when it was whitespace."""
    out = np.empty(len(data) + 1, dtype=np.uint8)
    n = 0
    for i in range(len(data)):
        byte = data[i]
        out[n] = lower[byte]
        n += 1 - np.int64(skip[byte])
    mask_lo, mask_hi = masks[0], masks[1]
    seen_shift, slot_shift = np.uint64(64 - bits[0]), np.uint64(64 - bits[1])
    size = len(keys_lo)
    lo = np.uint64(0)
    hi = np.uint64(0)
    for j in range(n):
        hi = ((hi << np.uint64(8)) | (lo >> np.uint64(56))) & mask_hi
        lo = ((lo << np.uint64(8)) | np.uint64(out[j])) & mask_lo
        key = _hash(lo, hi)
        bit = key >> seen_shift
        if not (seen[bit >> np.uint64(6)] >> (bit & np.uint64(63))) & np.uint64(1) or j + 1 < q:
            continue
        slot = np.int64(key >> slot_shift)
        while first[slot] != last[slot]:
            if keys_lo[slot] == lo and keys_hi[slot] == hi:
                start = j + 1 - q
                for anchor in range(first[slot], last[slot]):
                    a, b = offsets[anchor], offsets[anchor + 1]
                    if start + b - a <= n:
                        same = True
                        for k in range(b - a):
                            if out[start + k] != blob[a + k]:
                                same = False
                                break
                        if same:
                            return True
                break
            slot = (slot + 1) & (size - 1)
    return False


def _registers(key: bytes) -> tuple[int, int]:
    """The kernel's (lo, hi) after reading ``key`` (its last 8 bytes in lo, the bytes before in hi)."""
    lo = int.from_bytes(key[-8:], "big")
    hi = int.from_bytes(key[:-8], "big") if len(key) > 8 else 0
    return lo, hi


class AnchorFilter:
    """Exact test "some anchor occurs in ``normalize(content)``" (anchors: normalised, non-empty)."""

    def __init__(self, anchors: Sequence[str]):
        encoded = [anchor.encode("utf-8", "surrogatepass") for anchor in anchors]
        self.empty = not encoded
        self.q = min([MAX_KEY, *map(len, encoded)])
        groups: dict[tuple[int, int], list[bytes]] = {}
        for data in encoded:
            groups.setdefault(_registers(data[: self.q]), []).append(data)
        slot_bits = max(4, (4 * len(groups) - 1).bit_length())  # table: load factor at most 1/4
        seen_bits = max(16, slot_bits + 6)  # bitmap: a key's bit set for one position in ~64 or fewer
        self.bits = np.array([seen_bits, slot_bits], dtype=np.int64)
        size = 1 << slot_bits
        window = (1 << (8 * self.q)) - 1  # the registers keep the last q bytes
        self.masks = np.array([window & (2**64 - 1), window >> 64], dtype=np.uint64)
        self.seen = np.zeros(1 << (seen_bits - 6), dtype=np.uint64)
        self.keys_lo = np.zeros(size, dtype=np.uint64)
        self.keys_hi = np.zeros(size, dtype=np.uint64)
        self.first = np.zeros(size, dtype=np.int64)
        self.last = np.zeros(size, dtype=np.int64)
        blobs: list[bytes] = []
        for (lo, hi), members in groups.items():
            key = int(_hash(np.uint64(lo), np.uint64(hi)))
            bit = key >> (64 - seen_bits)
            self.seen[bit >> 6] |= np.uint64(1 << (bit & 63))
            slot = key >> (64 - slot_bits)
            while self.first[slot] != self.last[slot]:
                slot = (slot + 1) & (size - 1)
            self.keys_lo[slot], self.keys_hi[slot] = lo, hi
            self.first[slot], self.last[slot] = len(blobs), len(blobs) + len(members)
            blobs.extend(members)
        self.offsets = np.cumsum([0, *map(len, blobs)], dtype=np.int64)
        self.blob = np.frombuffer(b"".join(blobs), dtype=np.uint8)
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
                self.q,
                self.masks,
                self.bits,
                self.seen,
                self.keys_lo,
                self.keys_hi,
                self.first,
                self.last,
                self.offsets,
                self.blob,
            )
        )
