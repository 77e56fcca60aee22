"""Comment ratio: exact counts on hand-written files, both lexers, thresholds, the Beam stage and its failure
rules (the one-pass scans: test_comments_scans.py)."""

from __future__ import annotations

import json

import pytest

from filters.comments import LEXERS, UnparseableError, comment_chars, comment_ratio, keep_comment_ratio
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


def test_mostly_unparseable_input_is_ledgered_whole_and_the_job_bound_is_the_rule(tmp_path) -> None:
    """The stage has no bound of its own: every unparseable file is a ledger row, and the job-wide
    output.max_unparseable_share (pipeline.finish) decides whether the output is promoted."""
    from pipeline.config import resolve
    from pipeline.finish import FinishError, check_unparseable
    from pipeline.stages.comments import SPEC, CommentsConfig

    docs = _python_docs(60, 60)
    kept, removed = run_stage(SPEC, CommentsConfig(enabled=True), docs, tmp_path / "out")
    assert (len(kept), len(removed)) == (60, 60)
    assert {row["reason"] for row in removed} == {"unparseable"}
    assert {row["id"] for row in removed} == {doc["id"] for doc in docs[:60]}
    # what stats.json then says of the stage: finish refuses to promote it under santacoder's bound
    python = {"docs_in": len(docs), "removed": {"unparseable": {"docs": len(removed)}}}
    stats = {"stages": [{"name": "comments", "langs": {"python": python}}]}
    bound = resolve("santacoder").output.max_unparseable_share
    assert bound == 0.01
    with pytest.raises(FinishError, match=r"stage comments: 60 of 120 documents \(50.00%\) unparseable"):
        check_unparseable(stats, bound)


@pytest.mark.parametrize("key", ["max_unparseable_fraction", "batch_size"])
def test_the_removed_comments_knobs_are_unknown_keys(tmp_path, key) -> None:
    from pipeline.config import ConfigError, resolve

    config = tmp_path / "old.yaml"
    config.write_text(f"stages:\n  comments: {{enabled: true, {key}: 1}}\n")
    with pytest.raises(ConfigError, match=rf"stages\.comments\.{key}: unknown key"):
        resolve("santacoder", str(config))


def test_a_broken_parser_raises_instead_of_becoming_unparseable_rows(monkeypatch) -> None:
    """A parser that fails (here as a grammar built for another tree-sitter ABI does, with a ValueError, the
    base class of UnparseableError) fails the job naming the document; only UnparseableError is a ledger row."""
    import filters.comments_treesitter as ts
    from pipeline.stages.comments import CommentsJudge

    class BrokenParser:
        def parse(self, data: bytes):
            raise ValueError("Incompatible Language version 15. Must be between 13 and 14")

    monkeypatch.setattr(ts, "_tools", lambda lang: {"parser": BrokenParser()})
    # files only a parse settles: a regex after ")" in JavaScript, brackets left open in Python
    docs = [
        {"id": "j", "content": "if (a) /b/.test(c);\n", "lang": "javascript", "max_stars_repo_path": "a.js"},
        {"id": "p", "content": "x = (1,\n", "lang": "python", "max_stars_repo_path": "b.py"},
    ]
    judge = CommentsJudge()
    for doc in docs:
        with pytest.raises(
            RuntimeError, match=rf"tree-sitter lexer failed on o/r/{doc['max_stars_repo_path']}"
        ):
            judge.judge([{**doc, "max_stars_repo_name": "o/r"}])
    # files the scans settle never reach the parser; a file that cannot be lexed is still a ledger row
    verdicts = judge.judge(
        [{"id": "e", "content": "", "lang": "python"}, {"id": "c", "content": "# c\n", "lang": "python"}]
    )
    assert [v.reason for v in verdicts] == ["unparseable", None]
    assert verdicts[1].scores == {"comment_ratio": 1 / 4}  # "c" of 4 characters
