"""Comment characters from tree-sitter parse trees (the fast implementation of ``filters.comments``).

Same definition as the reference (see ``filters/comments.py``), computed from
the published tree-sitter grammars: the parse and the comment query run in C,
so only the comments reach Python. A tree with a syntax error (``ERROR`` or
``MISSING`` node) returns ``None`` and the caller uses the reference instead,
because error recovery is where two lexers may disagree.

Python docstrings still come from ``ast`` (``python_docstrings_ast``): the
tree-sitter grammar also accepts Python 2 (``print "x"``, ``except E, e``,
backticks, ``0777``...), where the reference found no docstring because
``ast.parse`` failed; taking docstrings from ``ast`` keeps that behaviour exact
by construction. Only the slow pure-Python tokenizer is replaced, and
``ast.parse`` is skipped when no module, class or function body starts with a
string literal (then there is no docstring to find).

Parsers and queries are built lazily once per thread (tree-sitter parsers are
not thread-safe), i.e. once per Beam worker thread.
"""

from __future__ import annotations

import threading

from filters.comments import python_docstrings_ast, python_text_length

_COMMENT_QUERIES = {
    "python": "(comment) @comment",
    "java": "[(line_comment) (block_comment)] @comment",
    "javascript": "(comment) @comment",
}
# Bodies whose first statement may be a docstring; when no body starts with a string literal, the file has
# no docstring and ast.parse (the slowest step left) is skipped.
_BODIES_QUERY = """
(class_definition body: (block) @body)
(function_definition body: (block) @body)
"""
_STRING_STARTS = {"string", "concatenated_string", "parenthesized_expression"}
_state = threading.local()


def _language(lang: str):
    import tree_sitter

    if lang == "python":
        import tree_sitter_python as grammar
    elif lang == "java":
        import tree_sitter_java as grammar
    else:
        import tree_sitter_javascript as grammar
    return tree_sitter.Language(grammar.language())


def _tools(lang: str) -> dict:
    """Parser and comment query cursor of ``lang`` for this thread."""
    cache = getattr(_state, "tools", None)
    if cache is None:
        cache = _state.tools = {}
    tools = cache.get(lang)
    if tools is None:
        import tree_sitter

        language = _language(lang)
        tools = {
            "parser": tree_sitter.Parser(language),
            "comments": tree_sitter.QueryCursor(tree_sitter.Query(language, _COMMENT_QUERIES[lang])),
        }
        if lang == "python":
            tools["bodies"] = tree_sitter.QueryCursor(tree_sitter.Query(language, _BODIES_QUERY))
        cache[lang] = tools
    return tools


def warm_up(langs=("python", "java", "javascript")) -> None:
    """Build the parsers and load the compiled scans (``filters/comments_{java,python}*.py``; compiled on
    a machine's first run, ~9 CPU-s, then cached) now (``setup`` of a Beam worker) rather than on the first
    document."""
    for lang in langs:
        _tools(lang)
    if "java" in langs:
        from filters.comments_java import java_comment_chars_fast

        java_comment_chars_fast("int a;")
    if "python" in langs:
        from filters.comments_python import python_comment_chars_fast

        python_comment_chars_fast('"""Module."""\nclass A:\n    """Class."""\n')  # every Python kernel


def _python_chars(content: str, root, data: bytes, tools: dict) -> int:
    # captures come in no particular order; the text is built in document order like the tokenizer's
    nodes = sorted(tools["comments"].captures(root).get("comment", []), key=lambda node: node.start_byte)
    comments = [
        data[node.start_byte : node.end_byte].decode("utf-8", "surrogatepass").rstrip("\r") for node in nodes
    ]
    docstrings = python_docstrings_ast(content) if _may_have_docstring(root, tools) else []
    return python_text_length(docstrings, comments)


def _starts_with_string(body) -> bool:
    first = next((child for child in body.named_children if child.type != "comment"), None)
    return (
        first is not None
        and first.type == "expression_statement"
        and first.named_child_count > 0
        and first.named_children[0].type in _STRING_STARTS
    )


def _may_have_docstring(root, tools: dict) -> bool:
    """Whether the module or any class/function body starts with a string literal (a superset of docstrings)."""
    if _starts_with_string(root):
        return True
    return any(_starts_with_string(body) for body in tools["bodies"].captures(root).get("body", []))


def _c_style_chars(root, data: bytes, ascii_only: bool, tools: dict) -> int:
    """Characters of line/block comments, with ``\\r\\n`` counted as one (Pygments normalises newlines)."""
    total = 0
    for node in tools["comments"].captures(root).get("comment", []):
        start, end = node.start_byte, node.end_byte
        if data[end - 1 : end] == b"\r":  # a line comment's CR before LF: Pygments never sees it
            end -= 1
        if ascii_only:
            total += end - start - data.count(b"\r\n", start, end)
        else:
            text = data[start:end].decode("utf-8", "surrogatepass")
            total += len(text) - text.count("\r\n")
    return total


def comment_chars_treesitter(content: str, lang: str) -> int | None:
    """Comment characters per the reference definition, or ``None`` when the tree has a syntax error."""
    tools = _tools(lang)
    data = content.encode("utf-8", "surrogatepass")
    tree = tools["parser"].parse(data)
    root = tree.root_node
    if root.has_error:
        return None
    if lang == "python":
        return _python_chars(content, root, data, tools)
    return _c_style_chars(root, data, len(data) == len(content), tools)
