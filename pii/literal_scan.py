"""The key family's pre-scan anchors in an ASCII text, in two compiled passes over its bytes (numba).

``pyahocorasick`` scans about 60 MB/s (it walks each node's children and
copies the text to UCS-4 on every call); most of the pre-scan's time went
there. Here the key-literal automaton is a dense transition table, ASCII
upper case folded into lower case, walked once over the bytes; a second pass
finds the key shapes the pre-scan's regexes describe (a quoted run, a colon
before a run, a key word before an assignment), which took ``re`` one pass
each. Only ASCII texts take this path (a byte is a character there, and
``str.lower`` folds exactly A-Z); the others keep ``pyahocorasick`` and the
regexes. The results are theirs: the end offset of every literal match
(overlapping ones included, in order), and the start of every shape match.

The walk is a chain of dependent loads (each state comes from the last), so
the table is kept small enough for the L1 cache: bytes that no literal tells
apart share a column (``byte_classes``: ~40 columns, not 128), and states
are 16-bit: the scan runs ~1.4x faster than with a 128-column 32-bit table.

The same pass can also find the other anchors of the pre-scan (``all_anchors``:
URL credentials, the IP and the email families'): their regexes stopped at
every dot, colon and at sign of a text, one pass each (and ``"://" in text``
was one more); in the key pass they cost a fraction of that.
"""

from __future__ import annotations

import re
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


def byte_classes(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(classes, columns)``: bytes whose columns of ``table`` are equal share a class;
    ``table[:, b] == columns[:, classes[b]]`` for every byte ``b``."""
    index: dict[bytes, int] = {}
    classes = np.array(
        [index.setdefault(table[:, b].tobytes(), len(index)) for b in range(128)], dtype=np.uint8
    )
    columns = np.zeros((table.shape[0], len(index)), dtype=table.dtype)
    columns[:, classes] = table
    return classes, columns


@compiled
def _run_at(data, start, run, length):  # pragma: no cover - compiled
    """Whether ``length`` run characters follow from ``start``."""
    if start + length > data.shape[0]:
        return False
    for j in range(start, start + length):
        if not run[data[j]]:
            return False
    return True


@compiled
def _assigned(data, j, space):  # pragma: no cover - compiled
    """``["'`]?\\]?\\s*(?:[:=,>]|\\.=|\\?=)`` matches at ``j`` (no element can stand for the next one)."""
    n = data.shape[0]
    if j < n and (data[j] == 34 or data[j] == 39 or data[j] == 96):
        j += 1
    if j < n and data[j] == 93:
        j += 1
    while j < n and space[data[j]]:
        j += 1
    if j >= n:
        return False
    byte = data[j]
    if byte == 58 or byte == 61 or byte == 44 or byte == 62:
        return True
    return (byte == 46 or byte == 63) and j + 1 < n and data[j + 1] == 61


@compiled
def _lower_at(data, j):  # pragma: no cover - compiled
    byte = data[j]
    return byte + 32 if 65 <= byte <= 90 else byte


@compiled
def _digits_end(data, j, hexadecimal):  # pragma: no cover - compiled
    """Where the run of digits (or hex digits) starting at ``j`` ends."""
    n = data.shape[0]
    while j < n:
        byte = data[j]
        if not (48 <= byte <= 57 or (hexadecimal and (97 <= byte <= 102 or 65 <= byte <= 70))):
            break
        j += 1
    return j


@compiled
def _groups_end(data, i, separator, hexadecimal, longest):  # pragma: no cover - compiled
    """The end of ``separator (digits{1,longest} separator){2}`` at ``i``, or -1. A digit run and the
    separator share no character, so each run must be whole (backtracking finds nothing shorter)."""
    n = data.shape[0]
    j = i + 1
    for _ in range(2):
        end = _digits_end(data, j, hexadecimal)
        if end == j or end - j > longest or end >= n or data[end] != separator:
            return -1
        j = end + 1
    return j


@compiled
def _credentials_end(data, i, space):  # pragma: no cover - compiled
    """The end of ``://[^\\s/@:]*+:[^\\s@]++@`` at ``i``, or -1."""
    n = data.shape[0]
    j = i + 3
    while j < n and not space[data[j]] and data[j] != 47 and data[j] != 64 and data[j] != 58:
        j += 1
    if j >= n or data[j] != 58:
        return -1
    j = start = j + 1
    while j < n and not space[data[j]] and data[j] != 64:
        j += 1
    if j == start or j >= n or data[j] != 64:
        return -1
    return j + 1


@compiled
def _anchors(
    data,
    classes,
    table,
    outputs,
    kinds,
    run,
    space,
    word,
    quoted_run,
    colon_run,
    found,
    ip_found,
    email_found,
):  # pragma: no cover
    """One pass: the end of every literal match (``table``: flat, indexed by a state plus a byte's class,
    each entry a next state times the number of classes; ``outputs`` indexed likewise), and the start of
    every shape (``kinds``: 0 none, 1 quote, 2 colon, 3 k, 4 p, or 0 everywhere for literals only).

    ``kinds`` 5 (dot), 6 (colon) and 7 (at sign) also find what ``finditer`` finds for the other
    patterns of the pre-scan, each resuming after its own last match: URL credentials
    ``://[^\\s/@:]*+:[^\\s@]++@`` (into ``found``), the IP family's ``\\.\\d{1,3}\\.\\d{1,3}\\.\\d``,
    ``::`` and ``:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:`` (into ``ip_found``), the email family's
    ``@[\\w-]+\\.`` (into ``email_found``; ``word``: ``[\\w-]``). Writes up to the length of each array;
    returns how many offsets there are for each."""
    n = data.shape[0]
    count = ip_count = email_count = 0
    capacity, ip_capacity, email_capacity = found.shape[0], ip_found.shape[0], email_found.shape[0]
    dotted_from = pair_from = groups_from = credentials_from = 0  # where each pattern's search resumes
    state = 0
    for i in range(n):
        byte = data[i]
        state = table[state + classes[byte]]
        hits = outputs[state]
        kind = kinds[byte]
        if kind:
            hit = ip_hit = email_hit = False
            if kind == 1:  # a quote before a run
                hit = _run_at(data, i + 1, run, quoted_run)
            elif kind == 2 or kind == 6:  # a colon, blanks, a run
                j = i + 1
                while j < n and (data[j] == 32 or data[j] == 9):
                    j += 1
                hit = _run_at(data, j, run, colon_run)
                if kind == 6:
                    if i >= credentials_from and i + 2 < n and data[i + 1] == 47 and data[i + 2] == 47:
                        end = _credentials_end(data, i, space)
                        if end >= 0:
                            hits += 1
                            credentials_from = end
                    if i + 1 < n and data[i + 1] == 58:  # "::"
                        if i >= pair_from:
                            ip_hit = True
                            pair_from = i + 2
                    elif i >= groups_from:  # ":h:h:"
                        end = _groups_end(data, i, 58, True, 4)
                        if end >= 0:
                            ip_hit = True
                            groups_from = end
            elif kind == 3:  # key
                hit = i + 2 < n and _lower_at(data, i + 1) == 101 and _lower_at(data, i + 2) == 121
                hit = hit and _assigned(data, i + 3, space)
            elif kind == 4:  # pass(code)
                if i + 3 < n and _lower_at(data, i + 1) == 97 and _lower_at(data, i + 2) == 115:
                    if _lower_at(data, i + 3) == 115:
                        hit = _assigned(data, i + 4, space)
                        if not hit and i + 7 < n:
                            code = _lower_at(data, i + 4) == 99 and _lower_at(data, i + 5) == 111
                            code = code and _lower_at(data, i + 6) == 100 and _lower_at(data, i + 7) == 101
                            hit = code and _assigned(data, i + 8, space)
            elif kind == 5:  # ".d.d.d"
                if i >= dotted_from:
                    end = _groups_end(data, i, 46, False, 3)
                    if end >= 0 and end < n and 48 <= data[end] <= 57:
                        ip_hit = True
                        dotted_from = end + 1
            else:  # 7: "@", a run of [\w-], "."
                j = i + 1
                while j < n and word[data[j]]:
                    j += 1
                email_hit = j > i + 1 and j < n and data[j] == 46
            if hit:
                hits += 1
            if ip_hit:
                if ip_count < ip_capacity:
                    ip_found[ip_count] = i
                ip_count += 1
            if email_hit:
                if email_count < email_capacity:
                    email_found[email_count] = i
                email_count += 1
        for _ in range(hits):
            if count < capacity:
                found[count] = i
            count += 1
    return count, ip_count, email_count


def _class_table(pattern: str) -> np.ndarray:
    """Which ASCII characters ``pattern`` (one character) matches, as ``re`` decides it."""
    compiled_class = re.compile(pattern)
    return np.array([compiled_class.fullmatch(chr(code)) is not None for code in range(128)])


class KeyScanner:
    """The key family's literal ends and shape starts in an ASCII text (see the module docstring)."""

    def __init__(self, literals: Sequence[str], run_class: str, quoted_run: int, colon_run: int) -> None:
        table, outputs = build_table(literals)
        self.classes, columns = byte_classes(table)
        width = columns.shape[1]
        dtype = np.uint16 if columns.size <= np.iinfo(np.uint16).max else np.int32
        self.table = (columns.astype(np.int64) * width).ravel().astype(dtype)
        self.outputs = np.zeros(columns.size, dtype=np.int32)
        self.outputs[::width] = outputs
        self.kinds = np.zeros(128, dtype=np.int8)
        self.kinds[[ord(q) for q in "\"'`"]] = 1
        self.kinds[ord(":")] = 2
        self.kinds[[ord("k"), ord("K")]] = 3
        self.kinds[[ord("p"), ord("P")]] = 4
        self.all_kinds = self.kinds.copy()
        self.all_kinds[ord(".")] = 5
        self.all_kinds[ord(":")] = 6
        self.all_kinds[ord("@")] = 7
        self.no_kinds = np.zeros(128, dtype=np.int8)
        self.run = _class_table(run_class)
        self.space = _class_table(r"\s")
        self.word = _class_table(r"[\w-]")
        self.quoted_run, self.colon_run = quoted_run, colon_run
        # Compile (or load the cached kernel) now, at start-up, not on the first document.
        self.all_anchors("")

    def literal_ends(self, text: str) -> list[int]:
        """What ``pyahocorasick``'s ``iter`` yields as ends on the lower-cased text."""
        return self._run(text, self.no_kinds)

    def anchors(self, text: str) -> list[int]:
        """Literal ends and shape starts, in order of offset (a shape start after the ends there)."""
        return self._run(text, self.kinds)

    def all_anchors(self, text: str | np.ndarray) -> tuple[list[int], list[int], list[int]]:
        """In the same pass: ``anchors(text)`` and the URL-credential anchors (together, in order), the
        IP family's and the email family's anchors (``pii.prescan``'s regexes); ``text`` may be given as
        its ASCII codes (``uint8``)."""
        return self._run(text, self.all_kinds, every_family=True)

    def _run(self, text: str | np.ndarray, kinds: np.ndarray, every_family: bool = False):
        data = text if isinstance(text, np.ndarray) else np.frombuffer(text.encode("ascii"), dtype=np.uint8)
        args = (data, self.classes, self.table, self.outputs, kinds, self.run, self.space, self.word)
        args += (self.quoted_run, self.colon_run)
        others = 64 if every_family else 0
        arrays = [np.empty(size, dtype=np.int64) for size in (256, others, others)]
        counts = _anchors(*args, *arrays)
        if any(count > array.shape[0] for count, array in zip(counts, arrays, strict=True)):
            arrays = [np.empty(count, dtype=np.int64) for count in counts]
            _anchors(*args, *arrays)
        found, ip_found, email_found = (
            array[:count].tolist() for array, count in zip(arrays, counts, strict=True)
        )
        return (found, ip_found, email_found) if every_family else found
