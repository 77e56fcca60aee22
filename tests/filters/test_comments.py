"""Comment ratio: exact counts on hand-written files, both lexers, the fast Python scan against the reference
on real files, thresholds, the Beam stage and its failure rules."""

from __future__ import annotations

import json

import pytest

from filters.comments import LEXERS, UnparseableError, comment_chars, comment_ratio, keep_comment_ratio
from filters.comments_python import python_comment_chars_fast
from filters.comments_treesitter import comment_chars_treesitter
from tests.stage_runner import run_stage

CASES = {
    # docstrings "Module doc." (11) + "Function\ndoc." (13, indentation cleaned); comments "# a comment",
    # "# trailing" glued, '#' removed: " a comment trailing" (19); 11 + 13 + 19 + 2 joining newlines = 45.
    # The '#' inside the string literal is code.
    "python_docstrings": (
        "python",
        '"""Module doc."""\n# a comment\nx = "# not a comment"  # trailing\n\n'
        'def f():\n    """Function\n    doc."""\n    return 1\n',
        45,
    ),
    # class docstring after a comment line (10) + async def docstring (10) + " leading comment" (16) + 2 = 38;
    # a later string, an f-string and a bytes literal are not docstrings.
    "python_class_async": (
        "python",
        "class A:\n    # leading comment\n    'Class doc.'\n    async def run(self):\n"
        '        """Async doc."""\n    def g(self):\n        x = 1\n        """not a docstring"""\n'
        '    def h(self):\n        f"not {1} doc"\n    def k(self):\n        b"bytes"\n',
        38,
    ),
    # every '#' of a comment is removed, then the text is stripped: "see 12  x".
    "python_hashes": ("python", "x = 1  # see #12 ## x\n", 9),
    # Python 2: ast fails, so (as in the reference) no docstring; the comment " py2" stripped is 3.
    "python2": ("python", '"""Doc."""\nprint "hi"  # py2\n', 3),
    # more Python 2 that the tree-sitter grammar accepts but ast rejects: still no docstring; the comments
    # "# x", "# y", "# z" glued without '#' are " x y z", stripped "x y z" (5).
    "python2_no_print": (
        "python",
        '"""Doc."""\ntry:\n    a = `b` # x\nexcept E, e: # y\n    c = 0777 # z\n',
        5,
    ),
    # a byte-order mark makes ast.parse fail in the reference: no docstring, "c" only.
    "python_bom": ("python", '\ufeff"""Doc."""\n# c\n', 1),
    # tabs and spaces mixed ambiguously: TabError in ast, so no docstring; " t" stripped -> 1.
    "python_taberror": ("python", 'def f():\n\t"""Doc."""\n        x = 1 # t\n', 1),
    # unicode counts characters: "Ünïcödé — doc" (13) + " ☃ snowman" (10) + 1 = 24.
    "python_unicode": ("python", '"""Ünïcödé — doc"""\n# ☃ snowman\n', 24),
    # docstrings are the evaluated literal, cleaned: "a\tb" -> tab expanded to 8 columns -> 9 characters.
    "python_escape_tab": ("python", 'def f():\n    "a\\tb"\n', 9),
    # "/* /* not nested */" (19) + "// line" (7) + "/** Javadoc ü */" (16) + "/* inline */" (12) + "// end" (6);
    # comment markers inside a string and '/' in a char literal are code.
    "java_mixed": (
        "java",
        '/* /* not nested */ class A { // line\n  String s = "/* not a comment */ // nor this";\n'
        "  char c = '/';\n  /** Javadoc ü */\n  int x = 1 /* inline */ ;\n}\n// end",
        60,
    ),
    # block comments do not nest: "/* a /* b */" (12) ends at the first "*/"; " c */" is code (a syntax error).
    "java_no_nesting": ("java", "class C { /* a /* b */ c */ }\n", 12),
    # CRLF: Pygments lexes "\r\n" as "\n": "/* a\n b */" (10) + "// c" (4).
    "java_crlf": ("java", "class A {\r\n/* a\r\n b */\r\n// c\r\n}\r\n", 14),
    # "// line comment" (15) + "/* inside substitution */" (25) + "/* block\n   comment */" (22)
    # + "// division" (11) + "// ünïcode ☃" (12) = 85; the hashbang, regex literals holding "//" and "/*",
    # a string and the template text are not comments.
    "javascript_mixed": (
        "javascript",
        "#!/usr/bin/env node\n// line comment\nvar re = /\\/\\/ not a comment \\/* nor this/g;\n"
        "var re3 = /[/*]+/;\nvar s = '// nor this';\n"
        "var t = `template // not /* comment */ ${a /* inside substitution */}`;\n"
        "/* block\n   comment */\nvar d = a / b / c; // division\n// ünïcode ☃\n",
        85,
    ),
    # an unterminated block comment is not a comment token: 0, and the file is still lexable.
    "javascript_unterminated": ("javascript", "var a = 1; /* never closed\nvar b;", 0),
}


@pytest.mark.parametrize("lexer", LEXERS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_exact_comment_characters(case: str, lexer: str) -> None:
    lang, source, expected = CASES[case]
    assert comment_chars(source, lang, lexer) == expected
    assert comment_ratio(source, lang, lexer) == expected / len(source)


def test_tree_sitter_hands_syntax_errors_to_the_reference() -> None:
    assert comment_chars_treesitter(CASES["java_no_nesting"][1], "java") is None
    assert comment_chars_treesitter(CASES["python2"][1], "python") == 3  # the grammar accepts Python 2
    assert comment_chars_treesitter(CASES["javascript_unterminated"][1], "javascript") is None
    assert comment_chars_treesitter(CASES["javascript_mixed"][1], "javascript") == 85


def test_regex_after_arrow_is_where_pygments_errs() -> None:
    # Pygments does not expect a regex after "=>" and lexes "//.test(x) ? 1 : 2; // ok" (25) as one line
    # comment; tree-sitter sees the regex literal and only "// ok" (5). The one disagreement on the sample.
    source = "const f = x =>\n  /^a\\//.test(x) ? 1 : 2; // ok\n"
    assert comment_chars(source, "javascript", "reference") == 25
    assert comment_chars(source, "javascript", "tree-sitter") == 5


def test_comment_order_follows_the_document() -> None:
    # 40 comments "#<i%5 spaces>c<i> ": 80 spaces + 110 "c<i>" + 40 trailing spaces, the last one stripped.
    # tree-sitter returns captures unordered; glued in another order the strip() would cut other spaces.
    source = "".join(f"x{i} = {i}  #{' ' * (i % 5)}c{i} \n" for i in range(40))
    assert comment_chars(source, "python", "reference") == 229
    assert {comment_chars(source, "python", "tree-sitter") for _ in range(10)} == {229}


@pytest.mark.parametrize("lexer", LEXERS)
@pytest.mark.parametrize(
    "lang, source, message",
    [
        ("python", 'x = """never closed\n', "EOF in multi-line string"),
        ("java", "", "empty file"),
        ("javascript", "var a;\x00\x01", "NUL byte"),
    ],
)
def test_unlexable_files_raise(lang: str, source: str, message: str, lexer: str) -> None:
    with pytest.raises(UnparseableError, match=message):
        comment_ratio(source, lang, lexer)


def test_inconsistent_dedent_is_unparseable_for_the_reference_tokenizer() -> None:
    source = "if x:\n        a = 1\n    b = 2\n"
    with pytest.raises(UnparseableError, match="unindent"):
        comment_ratio(source, "python", "reference")


def test_unknown_language_and_lexer_are_errors() -> None:
    with pytest.raises(ValueError, match="not 'ruby'"):
        comment_ratio("# x\n", "ruby")
    with pytest.raises(ValueError, match="unknown comment lexer"):
        comment_ratio("# x\n", "python", "regex")


def test_thresholds_are_strict() -> None:
    assert not keep_comment_ratio(0.01)
    assert keep_comment_ratio(0.010000001)
    assert not keep_comment_ratio(0.8)
    assert keep_comment_ratio(0.79999999)
    assert not keep_comment_ratio(0.0)


# Java files of exactly 200 characters whose ratio is exactly a threshold, or just inside it.
AT_MIN = "//\nclass A {}" + " " * 187  # 2 / 200 == 0.01
INSIDE_MIN = "///\nclass A {}" + " " * 186  # 3 / 200
AT_MAX = "/*" + "x" * 156 + "*/" + "class A {}" + " " * 30  # 160 / 200 == 0.8
INSIDE_MAX = "/*" + "x" * 155 + "*/" + "class A {}" + " " * 31  # 159 / 200


def _docs() -> list[dict]:
    rows = [
        ("min", "java", AT_MIN),
        ("in_min", "java", INSIDE_MIN),
        ("max", "java", AT_MAX),
        ("in_max", "java", INSIDE_MAX),
        ("py", "python", CASES["python_docstrings"][1]),
        ("broken", "python", 'x = """never closed\n'),
        ("ruby", "ruby", "# only comment\n"),
    ]
    return [
        {
            "id": f"{name:0>20}",
            "content": text,
            "lang": lang,
            "max_stars_repo_name": "o/r",
            "max_stars_repo_path": name,
        }
        for name, lang, text in rows
    ]


def test_boundary_files_have_exact_ratios() -> None:
    assert [len(doc["content"]) for doc in _docs()[:4]] == [200] * 4
    assert comment_ratio(AT_MIN, "java") == 0.01
    assert comment_ratio(AT_MAX, "java") == 0.8


def test_stage_through_beam(tmp_path) -> None:
    from pipeline.stages.comments import SPEC, CommentsConfig

    assert SPEC.columns == {"comment_ratio": "float64"}
    config = CommentsConfig(enabled=True)
    assert (config.min_ratio, config.max_ratio, config.lexer) == (0.01, 0.8, "tree-sitter")
    kept, removed = run_stage(SPEC, config, _docs(), tmp_path)
    kept_by_path = {doc["max_stars_repo_path"]: doc for doc in kept}
    assert sorted(kept_by_path) == ["in_max", "in_min", "py", "ruby"]
    assert kept_by_path["in_min"]["comment_ratio"] == 3 / 200
    assert kept_by_path["in_max"]["comment_ratio"] == 159 / 200
    assert kept_by_path["py"]["comment_ratio"] == 45 / len(CASES["python_docstrings"][1])
    assert kept_by_path["ruby"]["comment_ratio"] is None
    removed_by_path = {row["path"]: row for row in removed}
    assert {path: row["reason"] for path, row in removed_by_path.items()} == {
        "min": "low_comment_ratio",
        "max": "high_comment_ratio",
        "broken": "unparseable",
    }
    assert json.loads(removed_by_path["min"]["detail"]) == {
        "comment_ratio": 0.01,
        "min_ratio": 0.01,
        "max_ratio": 0.8,
        "lexer": "tree-sitter",
    }
    assert json.loads(removed_by_path["max"]["detail"])["comment_ratio"] == 0.8
    assert "EOF in multi-line string" in json.loads(removed_by_path["broken"]["detail"])["error"]
    assert {row["stage"] for row in removed} == {"comments"}


def test_config_rejects_inverted_thresholds() -> None:
    from pipeline.stages.comments import CommentsConfig

    with pytest.raises(ValueError, match="must be below"):
        CommentsConfig(min_ratio=0.5, max_ratio=0.4)
    with pytest.raises(ValueError):
        CommentsConfig(lexer="regex")


# Python shapes for the fast scan. "fast": the scan finds the docstrings itself (ast is never called); "ast": a
# sign that ast.parse may reject the file (or a rare docstring shape) sends the docstrings to ast. The count is
# the reference's in every case.
PYTHON_SHAPES = {
    # "Doc." (4) + "Cls." (4) + " c" stripped... " c" (2) + 2 joining newlines = 12
    "one_line_bodies": ("fast", 'def f(): "Doc."\nclass A: """Cls."""  # c\n', 12),
    # header over three lines, a dict, a lambda and nested parentheses in it, a return annotation: "Doc."
    "long_header": (
        "fast",
        'def f(a: Dict[str, int] = {"k": 1},\n      b=lambda: 2,\n      c=(1, (2, 3))) -> Tuple[int, int]:\n'
        '    """Doc."""\n',
        4,
    ),
    # definitions inside if / try / except bodies; "In if." (6) + "In try." (7) + "In except." (10) + 2 = 25
    "nested_blocks": (
        "fast",
        'if x:\n    def f():\n        "In if."\ntry:\n    class A:\n        """In try."""\n'
        'except E:\n    def g():\n        "In except."\n',
        25,
    ),
    # CRLF inside a docstring is LF for ast: "Line one.\n\nLine two." (20) + " c" (2) + 1
    "crlf_docstring": (
        "fast",
        'def f():\r\n    """Line one.\r\n\r\n    Line two.\r\n    """\r\n    # c\r\n',
        23,
    ),
    # escapes decoded: "a", tab to column 8, "b", "A", "é" -> 11; a raw string keeps them: "a\\tb" (4)
    "escapes": ("fast", 'def f():\n    "a\\tb\\x41\\u00e9"\ndef g():\n    r"a\\tb"\n', 16),
    # an f-string, bytes, an expression and a later string are no docstrings; "; x = 1" ends the statement
    "not_docstrings": (
        "fast",
        'def f():\n    f"x{1}"\ndef g():\n    b"x"\ndef h():\n    "d".format(1)\ndef k(): "Doc."; x = 1\n',
        4,
    ),
    # the comment between header and docstring does not matter: "Mod." (4) + "Doc of A." (9) + " lead" + 2
    "comment_before_docstring": (
        "fast",
        '"""Mod."""\nimport os\n\n\nclass A(object):\n    # lead\n\n    """Doc of A."""\n',
        20,
    ),
    # names joined by keywords, soft keywords and a continued with-statement are valid: "Mod." (4)
    "joined_names": (
        "fast",
        '"""Mod."""\nfrom a import b as c\ny = [x async for x in z if x is not None]\nraise E from e\n'
        "match x:\n    case y:\n        pass\nwith f() as \\\n        g:\n    pass\n",
        4,
    ),
    # async def docstrings count: "Mod." + "Async." + 1
    "async_def": ("fast", '"""Mod."""\nclass A:\n    async def f(self):\n        """Async."""\n', 11),
    # print >>f, x is valid Python 3 (an expression), but looks like Python 2: ast decides, and counts "Mod."
    "print_chevron": ("ast", '"""Mod."""\nprint >>f, "x"\n', 4),
    "parenthesised": ("ast", 'def f():\n    ("Doc.")\n', 4),
    "concatenated": ("ast", 'def f():\n    "a" "b"\n', 2),
    # Python 2 and other files ast.parse rejects: no docstring at all, as in the reference
    "py2_except_comma": ("ast", '"""Mod."""\ntry:\n    pass\nexcept (A, B), e:\n    pass\n', 0),
    "py2_print": ("ast", '"""Mod."""\nprint "x"\n', 0),
    "py2_octal": ("ast", '"""Mod."""\nx = 0777\n', 0),
    "py2_long": ("ast", '"""Mod."""\nx = 10L\n', 0),
    "py2_prefix_ur": ("ast", '"""Mod."""\nx = ur"a"\n', 0),
    "async_as_a_name": ("ast", '"""Mod."""\nasync = 1\n', 0),
    "bad_escape_elsewhere": ("ast", '"""Mod."""\nx = "\\N"\n', 0),
    "bad_fstring": ("ast", '"""Mod."""\nx = f"{}"\n', 0),
    # an edited file whose tokens are intact: two names that no keyword joins, a bare "name:" statement
    "renamed_keyword": ("ast", '"""Mod."""\nclass A:\n    fitino def f(self):\n        pass\n', 0),
    "renamed_else": ("ast", '"""Mod."""\nif x:\n    pass\nserugi:\n    pass\n', 0),
    "docstring_not_indented": ("ast", 'def f():\n"""Doc."""\n', 0),
    # after a byte-order mark the string is not the first statement; any other docstring would send the
    # file to ast (non-ASCII code), which rejects the mark
    "byte_order_mark": ("fast", '\ufeff"""Mod."""\n', 0),
    "byte_order_mark_later_def": ("ast", '\ufeffimport os\ndef f():\n    """Doc."""\n', 0),
    # a tab in an indentation: ast decides (TabError is possible); this one is consistent, so "Doc."
    "tab_indented": ("ast", 'def f():\n\t"""Doc."""\n\tif x:\n\t\tpass\n', 4),
}


@pytest.mark.parametrize("case", sorted(PYTHON_SHAPES))
def test_fast_python_scan_matches_the_reference(case: str, monkeypatch) -> None:
    import filters.comments_python as scan

    path, source, expected = PYTHON_SHAPES[case]
    assert comment_chars(source, "python", "reference") == expected
    calls = []
    real_ast = scan.python_docstrings_ast
    monkeypatch.setattr(scan, "python_docstrings_ast", lambda text: calls.append(1) or real_ast(text))
    assert python_comment_chars_fast(source) == expected
    assert calls == ([] if path == "fast" else [1])


def test_what_the_scan_hands_back_whole() -> None:
    # tokenize's failures and error tokens: the tree-sitter / reference path decides (None here)
    for source in ['x = """never closed\n', "x = (1,\n", "x = 'open\n# c\n", "x = 1 \\\n", "a\rb # c\n"]:
        assert python_comment_chars_fast(source) is None
    # an inconsistent dedent tokenizes in the scan as in tree-sitter (today's default): counted
    assert python_comment_chars_fast("if x:\n        a = 1  # c\n    b = 2\n") == 1


def test_syntax_errors_only_the_parser_sees_are_the_known_difference() -> None:
    # A keyword argument before a positional one: ast.parse fails, so the reference counts no docstring;
    # no lexical sign shows it, and tree-sitter (today's default) accepts it too. docs/filters.md.
    source = '"""Mod."""\nf(a=1, b)\n'
    assert comment_chars(source, "python", "reference") == 0
    assert comment_chars(source, "python", "tree-sitter") == 4


def _python_docs(broken: int, good: int) -> list[dict]:
    texts = ['x = """never closed\n'] * broken + ["# c\nx = 1\n"] * good
    return [
        {
            "id": f"{i:020d}",
            "content": text,
            "lang": "python",
            "max_stars_repo_name": "o/r",
            "max_stars_repo_path": f"f{i}.py",
        }
        for i, text in enumerate(texts)
    ]


def test_unparseable_share_above_the_bound_fails_with_the_share_and_the_bound() -> None:
    from pipeline.stages.comments import BOUND_MIN_DOCS, CommentsJudge, UnparseableShareError

    assert BOUND_MIN_DOCS == 100
    judge = CommentsJudge(max_unparseable_fraction=0.5)
    judge.setup()
    ruby = [{"id": "r", "content": "# x\n", "lang": "ruby"}] * 50  # not covered: not counted
    verdicts = judge.judge(_python_docs(60, 39) + ruby)  # 99 covered files: too few to judge a share
    assert sum(v.reason == "unparseable" for v in verdicts) == 60
    assert (judge.judged, judge.unparseable) == (99, 60)
    with pytest.raises(UnparseableShareError) as error:
        judge.judge(_python_docs(1, 0))
    assert str(error.value).startswith("stage comments: 61 of the 100 Python/Java/JavaScript files")
    assert "(61.0%)" in str(error.value) and "max_unparseable_fraction 0.5" in str(error.value)


def test_unparseable_share_at_the_bound_passes() -> None:
    from pipeline.stages.comments import CommentsJudge

    judge = CommentsJudge(max_unparseable_fraction=0.5)
    verdicts = judge.judge(_python_docs(100, 100))
    assert (judge.judged, judge.unparseable, len(verdicts)) == (200, 100, 200)


def test_environment_errors_raise_instead_of_becoming_unparseable_rows(monkeypatch) -> None:
    import filters.comments_treesitter as ts
    from pipeline.stages.comments import CommentsJudge

    ts._state.tools = {}  # this thread's parsers are built again, from a "missing" grammar

    def missing(lang: str):
        raise ModuleNotFoundError(f"No module named 'tree_sitter_{lang}'")

    monkeypatch.setattr(ts, "_language", missing)
    with pytest.raises(ModuleNotFoundError):
        CommentsJudge().setup()
    # a regex after ")": only a parse tells it from a division, so this file needs the grammar
    doc = {"id": "x", "content": "if (a) /b/.test(c);\n", "lang": "javascript", "max_stars_repo_name": "o/r"}
    doc["max_stars_repo_path"] = "a.js"
    with pytest.raises(
        RuntimeError, match=r"tree-sitter lexer failed on o/r/a.js \(id x\).*tree_sitter_javascript"
    ):
        CommentsJudge().judge([doc])
    monkeypatch.undo()
    ts._state.tools = {}
    assert CommentsJudge().judge([doc])[0].scores == {"comment_ratio": 0.0}


def test_stage_fails_the_job_on_mostly_unparseable_input(tmp_path) -> None:
    from pipeline.stages.comments import SPEC, CommentsConfig

    config = CommentsConfig(enabled=True, max_unparseable_fraction=0.2, batch_size=16)
    # 20 of 120: in whatever order the batches come, at most 20 of the first 100 -> never above 0.2
    kept, removed = run_stage(SPEC, config, _python_docs(20, 100), tmp_path / "ok")
    assert (len(kept), len(removed)) == (100, 20)
    # 60 of 120: at least 40 of the first 100 -> fails, naming the bound
    with pytest.raises(Exception, match="max_unparseable_fraction 0.2"):
        run_stage(SPEC, config, _python_docs(60, 60), tmp_path / "bad")


def _real_sources() -> dict[str, object]:
    """Real code on this machine, through the sample builder's source finders: the CPython library, npm,
    the JDK sources, the venv's site-packages, Debian's python3 packages and any Python 2 library."""
    import glob
    import sys
    from pathlib import Path

    from pipeline.sample_sources import Source, find_sources

    found = {lang.lower(): source for lang, source in find_sources().items()}
    dirs = {
        "site-packages": Path(sys.prefix)
        / "lib"
        / f"python{sys.version_info[0]}.{sys.version_info[1]}"
        / "site-packages",
        "python2": next(
            iter(
                sorted(glob.glob("/root/.pyenv/versions/2.*/lib/python2.*") + glob.glob("/usr/lib/python2.*"))
            ),
            None,
        ),
        "debian-python3": Path("/usr/lib/python3/dist-packages"),
        "lib2to3-data": Path(found["python"].location) / "lib2to3" / "tests" / "data"
        if "python" in found
        else None,
    }
    for name, path in dirs.items():
        if path is not None and Path(path).is_dir():
            found[name] = Source("Python", Path(path))
    return found


def _sampled(source, budget: int, seed: int = 0) -> list[tuple[str, str]]:
    import random

    names = [rel for rel, size in source.files if 0 < size < 200_000]
    random.Random(seed).shuffle(names)
    taken, size = [], 0
    for name in names:
        if size >= budget:
            break
        text = source.text(name)
        if "\x00" not in text:
            taken.append((name, text))
            size += len(text)
    return taken


def test_real_files_count_as_before_and_as_the_reference() -> None:
    """The fast scans against today's tree-sitter path and the reference, on ~0.25-0.5 MB of each source.

    Today's default: the tree-sitter parse (with ast docstrings for Python), the reference for trees with
    errors. Exact on every file; against the reference, only the documented differences (a dedent tokenize
    rejects; a regex after "=>" that Pygments reads as a comment)."""
    sources = _real_sources()
    if "python" not in sources:
        pytest.skip("no Python library found")
    compared = differ_from_reference = 0
    for name, source in sorted(sources.items()):
        lang = "python" if source.lang == "Python" else source.lang.lower()
        for path, text in _sampled(source, 500_000 if lang == "python" else 250_000):
            try:
                new = comment_chars(text, lang, "tree-sitter")
            except UnparseableError as error:
                new = f"unparseable: {error}"
            try:
                reference = comment_chars(text, lang, "reference")
            except UnparseableError as error:
                reference = f"unparseable: {error}"
            try:
                today = comment_chars_treesitter(text, lang)
            except UnparseableError as error:
                today = f"unparseable: {error}"
            assert new == (reference if today is None else today), f"{name}:{path}"
            compared += 1
            if new != reference:
                differ_from_reference += 1
                dedent = lang == "python" and "unindent" in str(reference)
                # Pygments reads a regex after "=>" as a line comment: it counts more, never less
                arrow_regex = lang == "javascript" and "=>" in text and reference > new
                assert dedent or arrow_regex, f"{name}:{path}: {new} vs reference {reference}"
    assert compared >= 200
    assert differ_from_reference <= compared // 100


JAVA_SHAPES = {
    # a text block holding comment markers, then "// a" (4) and "/* b */" (7)
    "text_block": ('class A {\n  String s = """\n    /* not */ // not\n    """; // a\n  /* b */\n}\n', 11),
    # octal and unicode escapes in character literals; "'" inside a string: "// c" (4)
    "char_literals": (
        "class A { char a = '\\377', b = '\\u0027', c = '\"'; String s = \"it's\"; } // c\n",
        4,
    ),
    # CRLF: "/* x\r\n y */" counts the line break once (10), "// z" (4)
    "crlf": ("class A {\r\n/* x\r\n y */\r\n// z\r\n}\r\n", 14),
}


@pytest.mark.parametrize("case", sorted(JAVA_SHAPES))
def test_fast_java_scan_matches_the_reference(case: str) -> None:
    from filters.comments_java import java_comment_chars_fast

    source, expected = JAVA_SHAPES[case]
    assert java_comment_chars_fast(source) == expected
    assert comment_chars(source, "java", "reference") == expected


def test_java_scan_hands_malformed_literals_back() -> None:
    from filters.comments_java import java_comment_chars_fast

    for source in [
        'String s = "open\n// c\n',
        "char c = 'ab'; // c\n",
        "int a; /* open\n",
    ]:
        assert java_comment_chars_fast(source) is None
        assert comment_chars(source, "java", "tree-sitter") == comment_chars(source, "java", "reference")


JAVASCRIPT_SHAPES = {
    # regex after "=>" (tree-sitter; Pygments reads a comment), after "return" and "(": "// ok" (5)
    "regex_contexts": (
        "const f = x =>\n  /^a\\//.test(x) ? 1 : 2; // ok\nfunction g() { return /\\/\\*/; }\n",
        5,
    ),
    # division after a name, a number and "]": "/* d */" (7)
    "divisions": ("var a = b / c / 2, d = e[0] / f; /* d */\n", 7),
    # a substitution holding braces, a string, a nested template and "/* in */" (8); "// x" is template
    # text; "// end" (6)
    "templates": ("var t = `a ${ {k: '}'}.k + `b ${c /* in */}` } // x`; // end\n", 14),
    # a hashbang is no comment; a comment after a regex with a class holding "/": "// c" (4)
    "hashbang_regex_class": ("#!/usr/bin/env node\nvar r = /[/]+/g; // c\n", 4),
}


@pytest.mark.parametrize("case", sorted(JAVASCRIPT_SHAPES))
def test_fast_javascript_scan_matches_tree_sitter(case: str) -> None:
    from filters.comments_javascript import javascript_comment_chars_fast

    source, expected = JAVASCRIPT_SHAPES[case]
    assert javascript_comment_chars_fast(source) == expected
    assert comment_chars_treesitter(source, "javascript") == expected  # today's default, a parse


def test_javascript_scan_hands_back_what_only_a_parse_tells() -> None:
    from filters.comments_javascript import javascript_comment_chars_fast

    for source in [
        "if (a) /b/.test(c); // x\n",  # regex or division after ")"
        "x = {} / 2; // y\n",  # after "}"
        "const e = <div>http://a // b</div>;\n",  # JSX text
        "var a; <!-- old\n",  # HTML-like comment
        "var t = `open ${a}\n",  # unterminated template
        "var s = 'open\n",
    ]:
        assert javascript_comment_chars_fast(source) is None
        today = comment_chars_treesitter(source, "javascript")
        expected = comment_chars(source, "javascript", "reference") if today is None else today
        assert comment_chars(source, "javascript", "tree-sitter") == expected
