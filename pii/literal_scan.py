"""Where key literals end in an ASCII text: one compiled pass of a dense Aho-Corasick automaton over the bytes.

``pyahocorasick`` scans about 60 MB/s (it walks each node's children and
copies the text to UCS-4 on every call); most of the pre-scan's time went
there. Here the automaton is a ``(states, 128)`` transition table, ASCII
upper case folded into lower case, walked once over the text's bytes by a
numba kernel (several hundred MB/s). Only ASCII texts take this path (a byte
is a character there, and ``str.lower`` folds exactly A-Z); the others keep
``pyahocorasick``. The result is the automaton's: the end offset of every
match, overlapping ones included, in order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np

from dedup.minhash import compiled


def build_table(literals: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """``(transitions, outputs)`` of the ASCII literals (lower case): ``outputs[s]`` literals end in state ``s``."""
    goto: list[dict[int, int]] = [{}]
    outputs = [0]
    for literal in literals:
        if not literal.isascii():
            continue  # never occurs in an ASCII text
        state = 0
        for byte in literal.encode("ascii"):
            if byte not in goto[state]:
                goto.append({})
                outputs.append(0)
                goto[state][byte] = len(goto) - 1
            state = goto[state][byte]
        outputs[state] += 1
    table = np.zeros((len(goto), 128), dtype=np.int32)
    fail = [0] * len(goto)
    queue = deque()
    for byte, child in goto[0].items():
        table[0, byte] = child
        queue.append(child)
    while queue:  # breadth first: a state's fail state is complete before its children need it
        state = queue.popleft()
        outputs[state] += outputs[fail[state]]
        table[state] = table[fail[state]]
        for byte, child in goto[state].items():
            fail[child] = table[fail[state], byte]
            table[state, byte] = child
            queue.append(child)
    upper = np.arange(ord("A"), ord("Z") + 1)
    table[:, upper] = table[:, upper + 32]
    return table, np.asarray(outputs, dtype=np.int32)


@compiled
def _scan(data, table, outputs, found):  # pragma: no cover - compiled (the tests hold it to pyahocorasick)
    """``table``: flat, each entry a next state times 128; ``outputs`` indexed by state times 128."""
    state = 0
    count = 0
    capacity = found.shape[0]
    for i in range(data.shape[0]):
        state = table[state + data[i]]
        hits = outputs[state]
        if hits:
            for _ in range(hits):
                if count < capacity:
                    found[count] = i
                count += 1
    return count


class LiteralScanner:
    """End offsets of the literals in an ASCII text (same list as ``pyahocorasick``'s ``iter``)."""

    def __init__(self, literals: Sequence[str]) -> None:
        table, outputs = build_table(literals)
        self.table = (table * 128).ravel()
        self.outputs = np.zeros(table.size, dtype=np.int32)
        self.outputs[::128] = outputs
        self.ends("")  # compile (or load the cached kernel) now, at start-up, not on the first document

    def ends(self, text: str) -> list[int]:
        data = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
        found = np.empty(256, dtype=np.int64)
        count = _scan(data, self.table, self.outputs, found)
        if count > found.shape[0]:
            found = np.empty(count, dtype=np.int64)
            _scan(data, self.table, self.outputs, found)
        return found[:count].tolist()
