"""Java comment characters from one regex scan: the fast path of ``filters.comments`` for Java.

Java has no regex literals and no string interpolation, so its comments are a
lexical matter: a ``//`` or ``/*`` outside a string, text block or character
literal. One C-speed scan over those four kinds of token finds the same
comments as the tree-sitter grammar and as Pygments (the reference) on every
file whose tokens are well formed, at several times the speed of a parse.

Where the two lexers the result is defined by could part ways, the scan returns
``None`` and the caller uses the tree-sitter / reference path: an unterminated
string, character literal, text block or block comment, a quote that starts no
literal, a lone ``\\r`` (Pygments reads it as a line break). Counted as the
reference counts: markers included, ``\\r\\n`` as one character.
"""

from __future__ import annotations

import re

import numpy as np

from dedup.minhash import compiled
from filters.comments import has_lone_cr
from filters.comments_literals import triple_quote_end

# A string, text block or character literal. A text block opens with three quotes and a line break (spaces
# between allowed); a character literal holds one character or escape (octal and \uXXXX included); strings
# and characters end on their line.
_LITERAL = (
    r'''"""[ \t\f]*\r?\n[^"\\]*(?:(?:\\.|"(?!""))[^"\\]*)*"""'''
    r"""|"[^"\\\r\n]*(?:\\[^\r\n][^"\\\r\n]*)*"
     |'(?:[^'\\\r\n]|\\(?:u+[0-9a-fA-F]{4}|[0-7]{1,3}|[^\r\n]))'"""
)
# One match per comment: code and literals are skipped inside the match (possessively: no backtracking), and
# the group holds what stopped them: a comment, a bad token (an unterminated block comment, a quote that
# starts no literal) or the end. So Python sees one string per comment, not one tuple per literal.
_SCAN = re.compile(
    r"""[^/"']*+(?:(?:"""
    + _LITERAL
    + r"""|/(?![/*]))[^/"']*+)*+
    (//[^\r\n]*|/\*[^*]*\*+(?:[^/*][^*]*\*+)*/|/\*|["']|\Z)""",
    re.VERBOSE | re.DOTALL,
)
_BAD = ("/*", '"', "'")  # no comment is one of these: a block comment is at least /**/


def java_comment_chars_fast(content: str) -> int | None:
    """Comment characters by the reference's definition, or ``None`` when the scan cannot settle them."""
    if has_lone_cr(content):
        return None
    data = np.frombuffer(content.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    chars = _scan_compiled(data)
    return None if chars < 0 else int(chars)


def java_comment_chars_regex(content: str) -> int | None:
    """:func:`java_comment_chars_fast` as the regex ``_SCAN`` spells it (the definition; tests compare)."""
    if has_lone_cr(content):
        return None
    comments = _SCAN.findall(content)
    if any(bad in comments for bad in _BAD):
        return None
    text = "".join(comments)
    return len(text) - text.count("\r\n") if "\r" in text else len(text)


# The regex ``_SCAN`` compiled by hand over the UTF-8 bytes (~4x its speed): every special character is
# ASCII, a character literal's one character is one UTF-8 sequence (its length from the lead byte), and a
# comment's characters are its bytes that are no continuation bytes (10xxxxxx). Returns -1 where the regex
# finds a bad token.
_QUOTE, _APOSTROPHE, _SLASH, _STAR, _BACKSLASH, _CR, _LF = 34, 39, 47, 42, 92, 13, 10


@compiled
def _sequence(data, at):
    """Bytes of the UTF-8 sequence starting at ``at``."""
    lead = data[at]
    return 1 if lead < 0xC0 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4


@compiled
def _text_block_end(data, at):
    """End of the text block opening at ``at`` (three quotes, blanks, a line break), or -1."""
    n = len(data)
    i = at + 3
    while i < n and (data[i] == 32 or data[i] == 9 or data[i] == 12):
        i += 1
    if i < n and data[i] == _CR:
        i += 1
    if i >= n or data[i] != _LF:
        return -1
    return triple_quote_end(data, i + 1, _QUOTE)


@compiled
def _string_end(data, at):
    """End of the one-line string opening at ``at``, or -1."""
    n = len(data)
    i = at + 1
    while i < n:
        byte = data[i]
        if byte == _QUOTE:
            return i + 1
        if byte == _CR or byte == _LF:
            return -1
        if byte == _BACKSLASH:
            if i + 1 >= n or data[i + 1] == _CR or data[i + 1] == _LF:
                return -1
            i += 2
        else:
            i += 1
    return -1


@compiled
def _is_hex(byte):
    return 48 <= byte <= 57 or 65 <= byte <= 70 or 97 <= byte <= 102


@compiled
def _char_end(data, at):
    """End of the character literal opening at ``at``, or -1: the regex's alternatives in its order."""
    n = len(data)
    i = at + 1
    if i >= n:
        return -1
    first = data[i]
    if first != _BACKSLASH:
        if first == _APOSTROPHE or first == _CR or first == _LF:
            return -1
        i += _sequence(data, i)
        return i + 1 if i < n and data[i] == _APOSTROPHE else -1
    i += 1  # after the backslash: u+ and four hex digits; one to three octal digits; one character
    if i >= n:
        return -1
    j = i
    while j < n and data[j] == 117:  # u
        j += 1
    if j > i and j + 4 < n:
        if _is_hex(data[j]) and _is_hex(data[j + 1]) and _is_hex(data[j + 2]) and _is_hex(data[j + 3]):
            if data[j + 4] == _APOSTROPHE:
                return j + 5
    j = i
    while j < n and j < i + 4 and 48 <= data[j] <= 55:
        j += 1
    if 0 < j - i <= 3 and j < n and data[j] == _APOSTROPHE:
        return j + 1
    if data[i] == _CR or data[i] == _LF:
        return -1
    i += _sequence(data, i)
    return i + 1 if i < n and data[i] == _APOSTROPHE else -1


@compiled
def _scan_compiled(data):
    n = len(data)
    total = 0
    i = 0
    while i < n:
        byte = data[i]
        if byte == _SLASH and i + 1 < n and (data[i + 1] == _SLASH or data[i + 1] == _STAR):
            start = i
            if data[i + 1] == _SLASH:
                i += 2
                while i < n and data[i] != _CR and data[i] != _LF:
                    i += 1
            else:
                i += 2
                while i + 1 < n and not (data[i] == _STAR and data[i + 1] == _SLASH):
                    i += 1
                if i + 1 >= n:
                    return -1  # an unterminated block comment
                i += 2
            for k in range(start, i):
                byte = data[k]
                if byte < 0x80 or byte >= 0xC0:
                    total += 1
                if byte == _CR and k + 1 < i and data[k + 1] == _LF:
                    total -= 1
        elif byte == _QUOTE:
            end = -1
            if i + 2 < n and data[i + 1] == _QUOTE and data[i + 2] == _QUOTE:
                end = _text_block_end(data, i)
            if end < 0:
                end = _string_end(data, i)
            if end < 0:
                return -1
            i = end
        elif byte == _APOSTROPHE:
            i = _char_end(data, i)
            if i < 0:
                return -1
        else:
            i += 1
    return total
