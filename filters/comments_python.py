"""Python comment characters from one regex scan: the fast path of ``filters.comments`` for Python.

The reference (``python_comment_chars_reference``) tokenizes the file with the
pure-Python ``tokenize`` and parses it with ``ast`` for docstrings (~2-4 MB/s).
A tree-sitter parse alone runs at ~6 MB/s on Python here, and its grammar
accepts Python 2 and much other input that ``ast.parse`` rejects (where the
reference counts no docstring at all), so it gives neither the speed nor the
exact result. This module computes the reference's number from one compiled scan (the regex ``_SCAN``,
compiled by hand in ``filters/comments_python_tokens.py``; the signs of ``plain_python3`` likewise in
``filters/comments_python_{keywords,layout}.py``):

* comments: the scan follows ``tokenize``'s string and comment rules (a ``#``
  outside a string literal starts a comment that ends before ``\\r`` or
  ``\\n``), so on every file ``tokenize`` accepts it finds exactly its comment
  tokens;
* docstrings: in the code with comments removed and each string literal masked
  as one placeholder character, ``ast.get_docstring``'s rule: the first
  statement of the module, or of a ``def``/``class`` body (its header found at
  bracket depth 0), is a lone string literal; evaluated and cleaned as ``ast``
  does.

What the scan cannot settle exactly goes back to the reference's own means:
text where ``tokenize`` fails or emits an error token (an unterminated string,
brackets left open at the end, a lone ``\\r``) returns ``None`` (the caller
then uses the tree-sitter / reference path); and when docstrings were found but
the file shows any sign that ``ast.parse`` may reject it
(``filters/comments_python_syntax.py``: Python 2 syntax, ``async`` as a name,
a tab in an indentation, non-ASCII code, 3.12 syntax, an edited file's names
and layout...) or the docstring has a rare shape (parenthesised, concatenated,
a tie in the reference's order at the edges of the text), the docstrings come
from ``ast``. ``docs/filters.md`` says what can still differ.
"""

from __future__ import annotations

import ast
import inspect
import re
import warnings

from filters.comments import (
    AST_LOCK,
    docstring_sort_key,
    has_lone_cr,
    python_docstrings_ast,
    python_text_length,
)
from filters.comments_python_syntax import LIT, PARENS, PREFIXES, plain_python3
from filters.comments_python_tokens import split_tokens

# One alternation after a '#' or a quote (a leading character set lets re skip to them fast; a lookahead
# would not): a comment; a complete triple-quoted string; a one-line string (a backslash-newline inside it is
# tokenize's continued string); a quote that starts no string, or an unterminated triple quote (tokenize's
# ERRORTOKEN). Groups: comment, string, bad (an empty string when bad), each without its first character,
# which a lookbehind tells: a string ends with it. A string prefix stays in the code, before the literal's
# placeholder.
_SCAN = re.compile(
    r"""[\#'"](?:
    (?<=\#)([^\r\n]*)
    |((?<=')(?:''[^'\\]*(?:(?:\\.|'(?!''))[^'\\]*)*'''|[^\n'\\]*(?:\\.[^\n'\\]*)*')
     |(?<=")(?:\"\"[^"\\]*(?:(?:\\.|"(?!""))[^"\\]*)*\"\"\"|[^\n"\\]*(?:\\.[^\n"\\]*)*"))
    |((?<=')(?:'')?|(?<=")(?:"")?))""",
    re.VERBOSE | re.DOTALL,
)
_DOC_PREFIXES = frozenset({"", "r", "u"})  # f-strings and bytes are no docstrings
_SURROGATE = re.compile("[\ud800-\udfff]")
# def and class keywords with their names, found as literals (fast); _headers keeps those at a statement start
_DEF = re.compile(r"def[ \t]+(\w+)")
_CLASS = re.compile(r"class[ \t]+(\w+)")
# The rest of a header up to its colon: parameters or bases in parentheses (PARENS: nested up to four
# deep), then a return annotation without a colon.
_SIGNATURE = re.compile(rf"[ \t]*(?:{PARENS})?[ \t]*(?:->[^:]*)?:")
_BLANK = re.compile(r"[ \t\r\n]*")
_STATEMENT = re.compile(r"(\w{0,2})\x01[ \t]*(.?)")
_OPENING = re.compile(r"[(\s]*")
_LITERAL_START = re.compile(r"\\|\w{0,2}\x01")


def python_comment_chars_fast(content: str) -> int | None:
    """Comment characters by the reference's definition, or ``None`` when the scan cannot settle them."""
    if has_lone_cr(content):
        return None  # a lone CR: tokenize's lines (split at \n only) and its comment rules part ways
    if not content.isascii() and _SURROGATE.search(content):
        return None  # text that is not valid Unicode: ast.parse fails on it
    tokens = split_tokens(content)  # _SCAN compiled: split_tokens_regex is the definition
    if tokens is None:
        return None
    code, comments, literals = tokens
    opens = code.count("(") + code.count("[") + code.count("{")
    if opens != code.count(")") + code.count("]") + code.count("}") or code.rstrip(" \t\r\n").endswith("\\"):
        return None  # tokenize: "EOF in multi-line statement"
    docstrings = _docstrings(code, literals) if literals else []
    if docstrings is None:  # the masked code cannot tell: the docstrings come from ast, as in the reference
        docstrings = python_docstrings_ast(content)
    return python_text_length(docstrings, [comments])


def split_tokens_regex(content: str) -> tuple[str, str, list[str]] | None:
    """``(code, comments, literals)`` as ``_SCAN`` splits ``content`` (see ``split_tokens``), or ``None``
    where a quote starts no string."""
    parts = _SCAN.split(content)  # code, comment, string, bad, code, comment, ...
    bad = parts[3::4]
    if bad.count(None) != len(bad):
        return None
    comments = "".join(filter(None, parts[1::4]))  # without their "#": the count removes every "#" anyway
    strings = parts[2::4]
    literals = [token[-1] + token for token in strings if token is not None]  # the opening quote back
    parts[1::4] = parts[3::4] = [""] * len(bad)
    parts[2::4] = ["" if token is None else LIT for token in strings]
    parts[0] = "\n" + parts[0]  # so that every line, the first too, starts after a newline
    return "".join(parts), comments, literals


def _docstrings(code: str, literals: list[str]) -> list[str] | None:
    """Docstrings in the reference's order from the masked code, or ``None`` when ast must decide."""
    found: list[tuple[tuple[str, str], str]] = []
    module = _first_statement(code, 0, None, literals, 0)
    if module is False:
        return None
    if module is not None:
        found.append((docstring_sort_key("Module", None), module))
    index = position = 0  # literals before ``position``, counted as the headers go down the file
    for start, indent, kind, name, end in _headers(code):
        if code[max(0, start - 2) : start].endswith(("\\", "\\\r")):
            return None  # a header after a backslash continuation: invalid, or beyond these rules
        signature = _SIGNATURE.match(code, end)
        if signature is None:
            return None  # brackets nested deeper than the pattern follows
        body = signature.end()
        index += code.count(LIT, position, body)
        position = body
        doc = _first_statement(code, body, indent, literals, index)
        if doc is False:
            return None
        if doc is not None:
            found.append((docstring_sort_key(kind, name), doc))
    if not found:
        return []
    if not plain_python3(code, literals):
        return None
    found.sort(key=lambda item: item[0])
    if _edges_depend_on_order(found):
        return None
    return [doc for _, doc in found]


def _headers(code: str) -> list[tuple[int, str, str, str, int]]:
    """``def`` and ``class`` headers at the start of a line, in document order: (start of their line's
    newline, indentation, kind, name, end of the name). The same as ``\\n([ \\t]*)(?:async[ \\t]+)?(def|class)
    [ \\t]+(\\w+)``, found from the two keywords (a literal search) instead of trying every line."""
    found = []
    for pattern, kind in ((_DEF, "Function/Method"), (_CLASS, "Class")):
        for match in pattern.finditer(code):
            start = code.rfind("\n", 0, match.start())
            lead = code[start + 1 : match.start()]
            rest = lead.lstrip(" \t")
            if rest and not (rest.startswith("async") and len(rest) > 5 and not rest[5:].strip(" \t")):
                continue
            found.append((start, lead[: len(lead) - len(rest)], kind, match.group(1), match.end()))
    found.sort()
    return found


def _first_statement(
    code: str, pos: int, indent: str | None, literals: list[str], index: int
) -> str | None | bool:
    """The docstring of the body starting at ``pos``: its text, ``None`` (none) or ``False`` (ask ast).

    ``indent`` is the header's indentation (``None`` for the module); ``index`` the number of literals
    before ``pos``."""
    at = _BLANK.match(code, pos).end()
    if at == len(code):
        return None
    if code[at] == "\\":
        return False
    # a parenthesised string is a docstring too (rare: ast decides); a statement opened by any other atom is not
    if code[at] == "(":
        return False if _LITERAL_START.match(code, _OPENING.match(code, at).end()) else None
    statement = _STATEMENT.match(code, at)
    if statement is None:
        return None  # a name, a keyword, a number...
    prefix, after = statement.group(1).lower(), statement.group(2)
    if after not in ("", "\r", "\n", ";"):
        # pieces glued ("a" "b", "a" \): ast decides; "doc".format(), "a" + b: an expression, no docstring
        return False if after in (LIT, "\\") or after.isalnum() else None
    line_start = code.rfind("\n", 0, at) + 1
    if line_start > pos:  # the docstring starts its own line: indented deeper than the header
        own = code[line_start:at]
        deeper = own == "" if indent is None else own.startswith(indent) and len(own) > len(indent)
        if not deeper:
            return False
    if prefix not in _DOC_PREFIXES:
        return None if prefix in PREFIXES else False
    return _docstring_value(prefix, literals[index])


def _docstring_value(prefix: str, token: str) -> str | None | bool:
    """``ast.get_docstring(clean=True)`` of one literal: CPython reads CRLF as LF before decoding."""
    quotes = 3 if token[:3] in ('"""', "'''") else 1
    value = token[quotes:-quotes].replace("\r\n", "\n")
    if "\\" in value and prefix != "r":
        try:
            with AST_LOCK, warnings.catch_warnings():
                warnings.simplefilter("ignore")
                value = ast.literal_eval(token.replace("\r\n", "\n"))
        except (SyntaxError, ValueError):
            return False  # a bad escape fails the whole file in ast
    return inspect.cleandoc(value) or None


def _edges_depend_on_order(found: list[tuple[tuple[str, str], str]]) -> bool:
    """Whether ties in the sort key meet the final ``strip()``: then the reference's walk order matters."""
    first = [doc for key, doc in found if key == found[0][0]]
    last = [doc for key, doc in found if key == found[-1][0]]
    return (len(first) > 1 and any(doc[0].isspace() for doc in first)) or (
        len(last) > 1 and any(doc[-1].isspace() for doc in last)
    )
