"""Comments-to-code ratio: the SantaCoder "comments" filter.

``comment_ratio = comment characters / total characters`` and a file is kept
when ``min_ratio < ratio < max_ratio`` (0.01 and 0.8, both strict).

What counts as a comment character follows bigcode-dataset's
``preprocessing/utils/text_extraction.py`` (``get_nl_ratio``), the code the
SantaCoder data was filtered with:

* Python (the reference did NOT use Pygments for Python): the natural-language
  text is ``("\\n".join(docstrings) + "\\n" + comments).strip()`` where

  - ``docstrings`` are ``ast.get_docstring`` (cleaned with ``inspect.cleandoc``:
    no quotes, no common indentation, escapes decoded) of the module and of
    every class and function: the string-literal expression statement that is
    first in the body; empty ones are skipped; order: classes, functions, then
    the module, each by name (only the ``strip()`` at the edges depends on it);
  - ``comments`` are the ``#`` comment tokens of the stdlib tokenizer glued
    together with every ``#`` character removed (``.replace("#", "")``, so a
    ``#`` inside a comment's text is not counted either).

  Deliberate differences from the reference, documented in
  ``docs/filters.md``: ``async def`` docstrings are counted (the reference's
  node list forgot ``AsyncFunctionDef``), and a file the tokenizer cannot
  tokenize (unterminated triple-quoted string, inconsistent dedent), an empty
  file (the reference divided by zero) or binary content raises
  :class:`UnparseableError` (the reference counted 0 comments and so silently
  dropped most of them). A file that tokenizes but is not valid Python 3 (old
  Python 2 code) gets no docstrings in ``reference`` mode, as in the reference.
* Java and JavaScript: the lengths of Pygments' ``Comment.Single`` and
  ``Comment.Multiline`` tokens (line and block comments, markers included).
  Pygments turns ``\\r\\n`` into ``\\n`` before lexing, so a CRLF file's block
  comment counts one character per line break. Hashbang lines and HTML-style
  ``<!--`` comments are other token types and are not counted. An
  unterminated ``/*`` is not a comment token. Pygments never fails, so a
  Java/JS file is only unparseable when it is empty or binary.

Two implementations (``lexer``): ``reference`` (the code above) and the
default ``tree-sitter``, which computes the same number in up to three steps,
each exact where it answers: one scan per language (regexes, the Python and Java ones compiled by hand)
(``filters/comments_{python,java,javascript}.py``; Python docstrings from the
masked code, or from ``ast`` when the file shows a sign that ``ast.parse``
rejects it); what a scan cannot settle goes to the tree-sitter parse
(``filters/comments_treesitter.py``); a tree with a syntax error goes to
``reference``, so broken files are judged as the reference judged them.
"""

from __future__ import annotations

import ast
import io
import threading
import tokenize
import warnings
from collections import deque
from collections.abc import Iterable
from functools import cache

LEXERS = ("tree-sitter", "reference")
LANGUAGES = ("python", "java", "javascript")
_STATEMENT_LIKE = (ast.stmt, ast.excepthandler, ast.match_case)
_DOCSTRING_NODES = {
    ast.ClassDef: "Class",
    ast.FunctionDef: "Function/Method",
    ast.AsyncFunctionDef: "Function/Method",
}


class UnparseableError(ValueError):
    """The file cannot be lexed, so its comments cannot be counted."""


def has_lone_cr(content: str) -> bool:
    """A ``\\r`` not followed by ``\\n``: the reference's lexers and the fast scans read it differently,
    so the scans hand such a file on."""
    return "\r" in content and content.count("\r") != content.count("\r\n")


def python_text_length(docstrings: Iterable[str], comments: Iterable[str]) -> int:
    """Length of the reference's natural-language text built from docstrings and raw ``#`` comments."""
    comment_text = "".join(comments).replace("#", "")
    return len(("\n".join(doc for doc in docstrings if doc) + "\n" + comment_text).strip())


def docstring_sort_key(kind: str, name: str | None) -> tuple[str, str]:
    """The reference's order: (node kind, name); the module (no name) sorts after classes and functions."""
    return (kind, name or "")


def _definitions_breadth_first(tree: ast.Module):
    """Module, class and function nodes in ``ast.walk`` order, visiting statements only (no expressions).

    Definitions only occur as statements, so skipping expression subtrees yields
    the same nodes in the same breadth-first order as ``ast.walk``, much faster.
    """
    queue = deque([tree])
    while queue:
        node = queue.popleft()
        yield node
        for _, value in ast.iter_fields(node):
            if isinstance(value, list):
                queue.extend(item for item in value if isinstance(item, _STATEMENT_LIKE))


# CPython 3.11's ast module keeps its recursion-depth bookkeeping in interpreter-wide state, so two threads
# parsing at once (Beam runs bundles on several threads) can fail a file at random with "SystemError: AST
# constructor recursion depth mismatch"; warnings.catch_warnings is process-global too. One parse at a time.
AST_LOCK = threading.Lock()


def python_docstrings_ast(content: str) -> list[str]:
    """Cleaned docstrings of module, classes and functions; [] when the file is not valid Python 3."""
    try:
        with AST_LOCK, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(content)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    found = []
    for node in _definitions_breadth_first(tree):
        kind = "Module" if isinstance(node, ast.Module) else _DOCSTRING_NODES.get(type(node))
        if kind is None:
            continue
        doc = ast.get_docstring(node, clean=True)
        if doc:
            found.append((docstring_sort_key(kind, getattr(node, "name", None)), doc))
    found.sort(key=lambda item: item[0])
    return [doc for _, doc in found]


def python_comments_tokenize(content: str) -> list[str]:
    """Raw ``#`` comment tokens from the stdlib tokenizer; raises :class:`UnparseableError` when it fails."""
    try:
        return [
            tok.string
            for tok in tokenize.generate_tokens(io.StringIO(content).readline)
            if tok.type == tokenize.COMMENT
        ]
    except (tokenize.TokenError, SyntaxError) as error:
        raise UnparseableError(f"python tokenizer: {error}") from None


def python_comment_chars_reference(content: str) -> int:
    comments = python_comments_tokenize(content)
    return python_text_length(python_docstrings_ast(content), comments)


@cache
def _pygments_lexer(lang: str):
    from pygments.lexers import get_lexer_by_name

    return get_lexer_by_name(lang)


def comment_chars_pygments(content: str, lang: str) -> int:
    """Characters in Pygments' single-line and multi-line comment tokens (the Java/JS reference)."""
    import pygments
    from pygments.token import Comment

    counted = (Comment.Single, Comment.Multiline)
    return sum(len(value) for kind, value in pygments.lex(content, _pygments_lexer(lang)) if kind in counted)


def comment_chars_reference(content: str, lang: str) -> int:
    """Comment characters as bigcode-dataset counted them (see the module docstring)."""
    if lang == "python":
        return python_comment_chars_reference(content)
    return comment_chars_pygments(content, lang)


def check_lexable(content: object) -> str:
    """The content as text, or :class:`UnparseableError` for empty or binary content (ratio undefined)."""
    if not isinstance(content, str):
        raise UnparseableError(f"content is {type(content).__name__}, not text")
    if not content:
        raise UnparseableError("empty file")
    if "\x00" in content:
        raise UnparseableError("NUL byte: binary content")
    return content


def comment_chars(content: str, lang: str, lexer: str = "tree-sitter") -> int:
    """Number of comment characters of ``content`` in ``lang`` (one of :data:`LANGUAGES`)."""
    if lang not in LANGUAGES:
        raise ValueError(f"comment ratio is defined for {', '.join(LANGUAGES)}, not {lang!r}")
    content = check_lexable(content)
    if lexer == "reference":
        return comment_chars_reference(content, lang)
    if lexer == "tree-sitter":
        from filters.comments_java import java_comment_chars_fast
        from filters.comments_javascript import javascript_comment_chars_fast
        from filters.comments_python import python_comment_chars_fast
        from filters.comments_treesitter import comment_chars_treesitter

        fast = {
            "python": python_comment_chars_fast,
            "java": java_comment_chars_fast,
            "javascript": javascript_comment_chars_fast,
        }[lang]
        chars = fast(content)
        if chars is None:
            chars = comment_chars_treesitter(content, lang)
        return comment_chars_reference(content, lang) if chars is None else chars
    raise ValueError(f"unknown comment lexer {lexer!r}; choose one of {', '.join(LEXERS)}")


def comment_ratio(content: str, lang: str, lexer: str = "tree-sitter") -> float:
    """``comment characters / len(content)``; raises :class:`UnparseableError` for unlexable files."""
    return comment_chars(content, lang, lexer) / len(content)


def keep_comment_ratio(ratio: float, min_ratio: float = 0.01, max_ratio: float = 0.8) -> bool:
    """The SantaCoder decision: strictly between the two thresholds."""
    return min_ratio < ratio < max_ratio
