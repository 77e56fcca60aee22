"""The keyword signs of ``plain_python3`` compiled by hand: the regexes ``_NOT_PY3`` of
``filters/comments_python_syntax.py`` but the last (a tab in an indentation), which stay there as the
definition (the tests hold this to them).

Why: eleven regex passes over every file with a docstring were the largest part of the Python scan left;
here one compiled pass looks at each place where one of them starts. Each check below names its pattern.
"""

from __future__ import annotations

import keyword

import numpy as np

from dedup.minhash import compiled
from filters.comments_python_layout import WORD_BYTES, keyword_table, literal_at, word_at

_SPACE, _TAB, _LF = 32, 9, 10
_DOT, _OPEN, _CLOSE, _COMMA, _COLON, _SEMICOLON, _BRACKET = 46, 40, 41, 44, 58, 59, 91
_WORDS = {
    word: np.frombuffer(word.encode(), dtype=np.uint8)
    for word in ("print", "exec", "except", "raise", "def", "lambda", "class", "async", "await", "type")
}
_TARGETS = keyword_table(("def", "for", "with"))  # async def / for / with
_HARD_KEYWORDS = keyword_table(keyword.kwlist)
_AFTER_PRINT = np.zeros(256, dtype=np.bool_)  # print/exec followed by one of these is a call or a name
_AFTER_PRINT[np.frombuffer(b"()=.,]};:\r\n", dtype=np.uint8)] = True
_AFTER_ASYNC = np.zeros(256, dtype=np.bool_)  # async/await followed by one of these is a name
_AFTER_ASYNC[np.frombuffer(b"=,)]:;.\r\n", dtype=np.uint8)] = True
_SPACES = np.zeros(256, dtype=np.bool_)  # str patterns' \s on ASCII
_SPACES[np.frombuffer(b" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f", dtype=np.uint8)] = True


@compiled
def _blanks(d, at):
    """End of the spaces and tabs from ``at``."""
    while at < len(d) and (d[at] == _SPACE or d[at] == _TAB):
        at += 1
    return at


@compiled
def _word_end(d, at):
    while at < len(d) and WORD_BYTES[d[at]]:
        at += 1
    return at


@compiled
def _statement_word(d, i, length):
    """``print``/``exec`` at ``i``: not after ``[\\w.]``, not before ``\\w``, then blanks and something that
    makes it no call or name (``(?![ \\t]*(?:[()=.,\\]};:\\r\\n]|$))``)."""
    n = len(d)
    if i > 0 and (WORD_BYTES[d[i - 1]] or d[i - 1] == _DOT):
        return False
    if i + length < n and WORD_BYTES[d[i + length]]:
        return False
    r = _blanks(d, i + length)
    return r < n and not _AFTER_PRINT[d[r]]


@compiled
def _comma_before(d, at, stop):
    """``(?:[^stop(\\n]|\\([^()\\n]*\\))*,`` from ``at``: a comma outside one-level parentheses before a
    line break, the stop character or a parenthesis that does not close on the line."""
    n = len(d)
    j = at
    while j < n:
        c = d[j]
        if c == _COMMA:
            return True
        if c == _LF or c == stop:
            return False
        if c == _OPEN:
            k = j + 1
            while k < n and d[k] != _OPEN and d[k] != _CLOSE and d[k] != _LF:
                k += 1
            if k >= n or d[k] != _CLOSE:
                return False
            j = k + 1
        else:
            j += 1
    return False


@compiled
def _tuple_parameters(d, i):
    """``def[ \\t]+\\w+[ \\t]*(?:\\[|\\((?:[^(),]*,)*\\s*\\()`` at ``i``: a 3.12 type parameter list, or a
    parenthesised (tuple) parameter after the opening one or after a comma."""
    n = len(d)
    j = _blanks(d, i + 3)
    if j == i + 3:
        return False
    k = _word_end(d, j)
    if k == j:
        return False
    j = _blanks(d, k)
    if j >= n:
        return False
    if d[j] == _BRACKET:
        return True
    if d[j] != _OPEN:
        return False
    last = j  # the opening parenthesis, then each comma
    p = j + 1
    while p < n and d[p] != _OPEN and d[p] != _CLOSE:
        if d[p] == _COMMA:
            last = p
        p += 1
    if p >= n or d[p] != _OPEN:
        return False
    for q in range(last + 1, p):
        if not _SPACES[d[q]]:
            return False
    return True


@compiled
def _async_name(d, i):
    """``async``/``await`` at ``i`` used as a name: a whole word, after a dot, or not before def/for/with
    and before one of ``=,)]:;.``, a line break or the end."""
    n = len(d)
    if (i > 0 and WORD_BYTES[d[i - 1]]) or (i + 5 < n and WORD_BYTES[d[i + 5]]):
        return False
    if i > 0 and d[i - 1] == _DOT:
        return True
    r = _blanks(d, i + 5)
    if r > i + 5 and word_at(d, r, _TARGETS):
        return False
    return r == n or _AFTER_ASYNC[d[r]]


@compiled
def _type_alias(d, i):
    """``type(?<![\\w.]type)[ \\t]+(?!keyword\\b)\\w+[ \\t]*[=\\[]`` at ``i`` (3.12's type statement)."""
    n = len(d)
    if i > 0 and (WORD_BYTES[d[i - 1]] or d[i - 1] == _DOT):
        return False
    r = _blanks(d, i + 4)
    if r == i + 4 or word_at(d, r, _HARD_KEYWORDS):
        return False
    k = _word_end(d, r)
    if k == r:
        return False
    j = _blanks(d, k)
    return j < n and (d[j] == 61 or d[j] == _BRACKET)


@compiled
def _after_word(d, i):
    """The ``(?<!\\w)word`` of lambda and class: not after a word character."""
    return i == 0 or not WORD_BYTES[d[i - 1]]


@compiled
def _keyword_sign(d, w_print, w_exec, w_except, w_raise, w_def, w_lambda, w_class, w_async, w_await, w_type):
    n = len(d)
    for i in range(n):
        c = d[i]
        if c == 112:  # p
            if literal_at(d, i, w_print) and _statement_word(d, i, 5):
                return True
        elif c == 101:  # e
            if literal_at(d, i, w_exec) and _statement_word(d, i, 4):
                return True
            if literal_at(d, i, w_except) and i + 6 < n and (d[i + 6] == _SPACE or d[i + 6] == _TAB):
                if _comma_before(d, i + 7, _COLON):
                    return True
        elif c == 114:  # r
            if literal_at(d, i, w_raise) and i + 5 < n and (d[i + 5] == _SPACE or d[i + 5] == _TAB):
                if _comma_before(d, i + 6, _SEMICOLON):
                    return True
        elif c == 100:  # d
            if literal_at(d, i, w_def) and _tuple_parameters(d, i):
                return True
        elif c == 108 or c == 76:  # l, L: a long literal (\dl, \dL, no word character after)
            if i > 0 and 48 <= d[i - 1] <= 57 and (i + 1 >= n or not WORD_BYTES[d[i + 1]]):
                return True
            if c == 108 and literal_at(d, i, w_lambda) and _after_word(d, i):
                j = _blanks(d, i + 6)
                if j < n and d[j] == _OPEN:
                    return True
        elif c == 99:  # c
            if literal_at(d, i, w_class) and _after_word(d, i):
                j = _blanks(d, i + 5)
                k = _word_end(d, j)
                if j > i + 5 and k > j:
                    j = _blanks(d, k)
                    if j < n and d[j] == _BRACKET:
                        return True
        elif c == 97:  # a
            if (literal_at(d, i, w_async) or literal_at(d, i, w_await)) and _async_name(d, i):
                return True
        elif c == 116:  # t
            if literal_at(d, i, w_type) and _type_alias(d, i):
                return True
    return False


def keyword_sign(data: np.ndarray) -> bool:
    """Whether one of ``_NOT_PY3``'s patterns but the last matches the masked code's bytes."""
    return bool(_keyword_sign(data, *_WORDS.values()))
