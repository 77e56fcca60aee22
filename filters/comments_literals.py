"""Byte scans of string literals shared by the compiled comment scans of several languages.

Java's text blocks and Python's triple-quoted strings end the same way: at the first three quotes in a
row that no backslash escapes (a backslash escapes the one byte after it).
"""

from __future__ import annotations

from dedup.minhash import compiled

_BACKSLASH = 92


@compiled
def triple_quote_end(data, start, quote):
    """End (after the closing quotes) of a literal whose body starts at ``start``, closed by three
    ``quote`` bytes in a row; -1 when it does not close."""
    n = len(data)
    i = start
    while i < n:
        byte = data[i]
        if byte == _BACKSLASH:
            if i + 1 >= n:
                return -1
            i += 2
        elif byte == quote and i + 2 < n and data[i + 1] == quote and data[i + 2] == quote:
            return i + 3
        else:
            i += 1
    return -1
