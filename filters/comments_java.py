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

from filters.comments import has_lone_cr

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
    comments = _SCAN.findall(content)
    if any(bad in comments for bad in _BAD):
        return None
    text = "".join(comments)
    return len(text) - text.count("\r\n") if "\r" in text else len(text)
