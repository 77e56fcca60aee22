"""Two signs of ``plain_python3`` compiled by hand: the regexes ``_NAME_PAIRS`` and ``_LAYOUT`` of
``filters/comments_python_syntax.py``, which stay there as the definition (the tests hold these to them).

Why: those two are tried at every space and at every line, ~40 % of the Python scan's time; here they are
one compiled pass each over the masked code's bytes (ASCII: ``plain_python3`` checks that first).
Each function below says which part of its regex it follows. Keywords come from the same sets as the
regexes', passed in as padded byte tables.
"""

from __future__ import annotations

import string
from collections.abc import Iterable

import numpy as np

from dedup.minhash import compiled

_SPACE, _TAB, _LF, _CR, _BACKSLASH = 32, 9, 10, 13, 92
WORD_BYTES = np.zeros(256, dtype=np.bool_)  # ASCII \w
WORD_BYTES[np.frombuffer((string.ascii_letters + string.digits + "_").encode(), dtype=np.uint8)] = True
_ASYNC, _NOT, _IN = (np.frombuffer(word, dtype=np.uint8) for word in (b"async", b"not", b"in"))
_A_KEYWORDS = ("def", "for", "with", "class", "if", "elif", "else", "while", "try", "except", "finally")
_A_AFTER_ASYNC = ("def", "for", "with")
_B_KEYWORDS = (
    "return", "pass", "break", "continue", "raise", "import", "from", "del", "global", "nonlocal", "assert",
)  # fmt: skip


def keyword_table(words: Iterable[str]) -> np.ndarray:
    """Words as rows of a zero-padded byte table (no word holds a zero byte)."""
    words = sorted(words)
    table = np.zeros((len(words), max(map(len, words))), dtype=np.uint8)
    for row, word in enumerate(words):
        table[row, : len(word)] = np.frombuffer(word.encode("ascii"), dtype=np.uint8)
    return table


@compiled
def _in_table(d, start, end, table):
    """Whether ``d[start:end]`` is a row of ``table``."""
    length = end - start
    if length > table.shape[1]:
        return False
    for row in range(table.shape[0]):
        if length < table.shape[1] and table[row, length] != 0:
            continue
        same = True
        for k in range(length):
            if d[start + k] != table[row, k]:
                same = False
                break
        if same:
            return True
    return False


@compiled
def literal_at(d, at, literal):
    """Whether ``d`` holds ``literal`` at ``at``."""
    if at + len(literal) > len(d):
        return False
    for k in range(len(literal)):
        if d[at + k] != literal[k]:
            return False
    return True


@compiled
def word_at(d, at, table):
    """Length of the table word at ``at`` followed by a word boundary (``\b``), or 0: the whole run of
    word characters from ``at`` is the word."""
    n = len(d)
    end = at
    while end < n and WORD_BYTES[d[end]] and end - at <= table.shape[1]:
        end += 1
    return end - at if end > at and _in_table(d, at, end, table) else 0


@compiled
def _word_before(d, end, table):
    """Whether a table word ends at ``end`` with a word boundary before it (``(?<!\b(?:...))``): the whole
    run of word characters before ``end`` is the word."""
    start = end
    while start > 0 and WORD_BYTES[d[start - 1]] and end - start <= table.shape[1]:
        start -= 1
    return start < end and _in_table(d, start, end, table)


@compiled
def _name_pair_sign(d, before, after):
    """``_NAME_PAIRS`` with the check on each hit: a space or tab after a word character or a closing
    bracket, the word before no keyword (``before``), then blanks and a name, number, literal or brace
    that no joining keyword (``after``, and ``not in``) starts; a sign unless the word before is a number
    (its first character within 100 a digit)."""
    n = len(d)
    for p in range(1, n):
        if d[p] != _SPACE and d[p] != _TAB:
            continue
        c = d[p - 1]
        if not (WORD_BYTES[c] or c == 41 or c == 93 or c == 125):  # ) ] }
            continue
        if _word_before(d, p, before):
            continue
        r = p + 1
        while r < n and (d[r] == _SPACE or d[r] == _TAB):
            r += 1
        if r >= n or not (WORD_BYTES[d[r]] or d[r] == 1 or d[r] == 123):  # \x01 {
            continue
        if word_at(d, r, after):
            continue
        if literal_at(d, r, _NOT):  # not[ \t]+in\b
            s = r + 3
            while s < n and (d[s] == _SPACE or d[s] == _TAB):
                s += 1
            if s > r + 3 and literal_at(d, s, _IN) and (s + 2 >= n or not WORD_BYTES[d[s + 2]]):
                continue
        k = p
        while k > max(0, p - 100) and WORD_BYTES[d[k - 1]]:
            k -= 1
        if k == p or not (48 <= d[k] <= 57):
            return True
    return False


@compiled
def _line_stop(d, at):
    """Where ``_LINE`` from ``at`` stops: a line break, or a bracket it cannot close on one level."""
    n = len(d)
    i = at
    while i < n:
        c = d[i]
        if c == _LF or c == _CR or c == 41 or c == 93 or c == 125:
            return i
        if c == 40 or c == 91 or c == 123:  # ( [ {: closed on the line with no bracket of its kind inside
            close = c + 1 if c == 40 else c + 2
            j = i + 1
            while j < n and d[j] != _LF and d[j] != _CR and d[j] != c and d[j] != close:
                j += 1
            if j >= n or d[j] != close:
                return i
            i = j + 1
        else:
            i += 1
    return i


@compiled
def _after_blanks(d, at):
    """``_BLANKS`` at ``at``: the start of the next line that is not blank, or -1 without a line break."""
    n = len(d)
    if at < n and d[at] == _CR and at + 1 < n and d[at + 1] == _LF:
        at += 2
    elif at < n and d[at] == _LF:
        at += 1
    else:
        return -1
    while True:
        j = at
        while j < n and (d[j] == _SPACE or d[j] == _TAB):
            j += 1
        if j < n and d[j] == _CR and j + 1 < n and d[j + 1] == _LF:
            at = j + 2
        elif j < n and d[j] == _LF:
            at = j + 1
        else:
            return at


@compiled
def _deeper(d, at, indent):
    """``\\1[ \\t]`` at ``at``: ``indent`` spaces, then a space or a tab."""
    n = len(d)
    if at + indent >= n:
        return False
    for k in range(indent):
        if d[at + k] != _SPACE:
            return False
    return d[at + indent] == _SPACE or d[at + indent] == _TAB


@compiled
def _layout_sign(d, a_words, async_words, b_words, c_names, c_paren):
    """``_LAYOUT`` line by line (each line after a newline that no backslash continues): alternative A (a
    header ending in a colon, its next line not deeper) or B (a simple statement, its next line deeper) is
    a sign; alternative C (``name (...):``) is written to ``c_names`` (start, end) and ``c_paren`` for the
    caller's keyword test. Returns -1 for a sign, else the number of C lines."""
    n = len(d)
    found = 0
    for p in range(n):
        if d[p] != _LF or (p >= 1 and d[p - 1] == _BACKSLASH):
            continue
        if p >= 2 and d[p - 1] == _CR and d[p - 2] == _BACKSLASH:
            continue
        x = p + 1
        while x < n and d[x] == _SPACE:
            x += 1
        indent = x - p - 1
        # A: keyword (async before def/for/with), the line ends with a colon and a line break
        head = word_at(d, x, a_words)
        if literal_at(d, x, _ASYNC):
            y = x + 5  # "async", blanks, then def, for or with
            while y < n and (d[y] == _SPACE or d[y] == _TAB):
                y += 1
            after = word_at(d, y, async_words) if y > x + 5 else 0
            if after:
                head = y + after - x
        if head:
            e = x
            while e < n and d[e] != _LF and d[e] != _CR:
                e += 1
            t = e
            while t > x and (d[t - 1] == _SPACE or d[t - 1] == _TAB):
                t -= 1
            if e < n and t > x and d[t - 1] == 58:  # ':'
                stop = _line_stop(d, x + head)
                if stop < n and (d[stop] == _LF or d[stop] == _CR):
                    nxt = _after_blanks(d, stop)
                    if nxt >= 0 and not _deeper(d, nxt, indent):
                        return -1
        # B: keyword or "name = ", the line's brackets closed, no backslash at its end, next line deeper
        head = word_at(d, x, b_words)
        if head == 0 and x < n and (WORD_BYTES[d[x]] and not (48 <= d[x] <= 57)):
            i = x + 1
            while i < n and (WORD_BYTES[d[i]] or d[i] == 46):  # [\w.]
                i += 1
            j = i
            while j < n and (d[j] == _SPACE or d[j] == _TAB):
                j += 1
            if j > i and j + 1 < n and d[j] == 61 and (d[j + 1] == _SPACE or d[j + 1] == _TAB):
                head = j + 2 - x
        if head:
            stop = _line_stop(d, x + head)
            if stop < n and (d[stop] == _LF or d[stop] == _CR) and d[stop - 1] != _BACKSLASH:
                nxt = _after_blanks(d, stop)
                if nxt >= 0 and _deeper(d, nxt, indent):
                    return -1
        # C: name, maybe one parenthesised group, a colon, then only blanks to the line's end
        if x < n and WORD_BYTES[d[x]] and not (48 <= d[x] <= 57):
            i = x + 1
            while i < n and WORD_BYTES[d[i]]:
                i += 1
            a = i
            while a < n and (d[a] == _SPACE or d[a] == _TAB):
                a += 1
            paren = False
            if a < n and d[a] == 40:
                j = a + 1
                while j < n and d[j] != _LF and d[j] != _CR and d[j] != 40 and d[j] != 41:
                    j += 1
                if j >= n or d[j] != 41:
                    continue
                paren = True
                a = j + 1
                while a < n and (d[a] == _SPACE or d[a] == _TAB):
                    a += 1
            if a >= n or d[a] != 58:
                continue
            z = a + 1
            while z < n and (d[z] == _SPACE or d[z] == _TAB):
                z += 1
            if z == n or d[z] == _LF or (d[z] == _CR and z + 1 < n and d[z + 1] == _LF):
                c_names[found, 0], c_names[found, 1] = x, i
                c_paren[found] = paren
                found += 1
    return found


_A_TABLE, _ASYNC_TABLE, _B_TABLE = map(keyword_table, (_A_KEYWORDS, _A_AFTER_ASYNC, _B_KEYWORDS))


def name_pair_sign(data: np.ndarray, before: np.ndarray, after: np.ndarray) -> bool:
    """Whether ``_NAME_PAIRS`` finds a sign in the masked code's bytes (``before``/``after``: keyword tables)."""
    return bool(_name_pair_sign(data, before, after))


def layout_lines(data: np.ndarray) -> list[tuple[int, int, bool]] | None:
    """``None`` when ``_LAYOUT`` finds a header with no body or a line indented for no reason; else its
    ``name (...):`` lines, as (start, end of the name, parenthesised), for the keyword test."""
    lines = int(np.count_nonzero(data == _LF))
    names = np.empty((lines, 2), dtype=np.int64)
    paren = np.empty(lines, dtype=np.bool_)
    found = _layout_sign(data, _A_TABLE, _ASYNC_TABLE, _B_TABLE, names, paren)
    if found < 0:
        return None
    return [(int(names[k, 0]), int(names[k, 1]), bool(paren[k])) for k in range(found)]
