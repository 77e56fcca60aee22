"""The Python scan's one pass over comments and string literals, compiled by hand: the regex ``_SCAN`` of
``filters/comments_python.py`` split over the text (which stays there as the definition, and the tests hold
this to it).

Why: ``_SCAN.split`` and the list work after it were ~25 % of the Python scan's time; here one compiled
pass over the UTF-8 bytes writes the masked code (comments removed, each literal one ``\\x01``) and the
comments' text (without their first ``#``), and records each literal's byte span. Every character the
regex looks at is ASCII, and a backslash escapes one character: its first byte here, the rest of a
multi-byte character being ordinary text.
"""

from __future__ import annotations

import numpy as np

from dedup.minhash import compiled
from filters.comments_literals import triple_quote_end

_HASH, _QUOTE, _APOSTROPHE, _BACKSLASH, _CR, _LF, _LIT = 35, 34, 39, 92, 13, 10, 1


@compiled
def _line_string_end(data, at, quote):
    """End of the one-line string opening at ``at`` (an unescaped newline ends it unterminated), or -1."""
    n = len(data)
    j = at + 1
    while j < n:
        byte = data[j]
        if byte == quote:
            return j + 1
        if byte == _LF:
            return -1
        if byte == _BACKSLASH:
            if j + 1 >= n:
                return -1
            j += 2
        else:
            j += 1
    return -1


@compiled
def _scan(data, code, comments, spans):
    """Fill ``code``, ``comments`` and ``spans``; returns their lengths, or -1s where the regex finds a
    quote that starts no string."""
    n = len(data)
    i = c = m = k = 0
    while i < n:
        byte = data[i]
        if byte == _HASH:
            i += 1
            while i < n and data[i] != _CR and data[i] != _LF:
                comments[m] = data[i]
                m += 1
                i += 1
        elif byte == _QUOTE or byte == _APOSTROPHE:
            end = -1
            if i + 2 < n and data[i + 1] == byte and data[i + 2] == byte:
                end = triple_quote_end(data, i + 3, byte)
            if end < 0:
                end = _line_string_end(data, i, byte)
            if end < 0:
                return -1, -1, -1
            spans[k, 0], spans[k, 1] = i, end
            k += 1
            code[c] = _LIT
            c += 1
            i = end
        else:
            code[c] = byte
            c += 1
            i += 1
    return c, m, k


def split_tokens(content: str) -> tuple[str, str, list[str]] | None:
    """``(code, comments, literals)`` of ``content`` as ``_SCAN`` splits it: the code with a newline first,
    comments removed and each literal one ``\\x01``; the comments' text after their first ``#``, glued;
    each literal whole, in order. ``None`` where a quote starts no string."""
    data = content.encode("utf-8", "surrogatepass")
    size = len(data)
    array = np.frombuffer(data, dtype=np.uint8)
    code = np.empty(size, dtype=np.uint8)
    comments = np.empty(size, dtype=np.uint8)
    spans = np.empty((size // 2 + 1, 2), dtype=np.int64)
    c, m, k = _scan(array, code, comments, spans)
    if c < 0:
        return None
    if size == len(content):  # ASCII: byte offsets are character offsets
        literals = [content[start:end] for start, end in spans[:k].tolist()]
    else:
        literals = [data[start:end].decode("utf-8", "surrogatepass") for start, end in spans[:k].tolist()]
    return (
        "\n" + code[:c].tobytes().decode("utf-8", "surrogatepass"),
        comments[:m].tobytes().decode("utf-8", "surrogatepass"),
        literals,
    )
