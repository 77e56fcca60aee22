"""Normalisation, the whitelist, exactness against the naive loop, planted recall and no false removals."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from decontam.core import Decontaminator
from decontam.loaders import load_benchmark_strings
from decontam.matcher import SubstringMatcher
from decontam.ngrams import NgramIndex
from decontam.strings import (
    HUMANEVAL_WHITELIST,
    REFERENCE_WHITELIST_AS_EVALUATED,
    BenchmarkString,
    humaneval_strings,
    normalize,
    normalize_reference,
    original_span,
)
from tests.decontam.helpers import BENCHMARKS, needs_shared, real_code


@pytest.fixture(scope="module")
def strings() -> list[BenchmarkString]:
    if not BENCHMARKS.exists():
        pytest.skip("../shared/benchmarks is not beside the checkout")
    return load_benchmark_strings(source=str(BENCHMARKS))


@pytest.fixture(scope="module")
def finder(strings) -> Decontaminator:
    return Decontaminator(strings)


@pytest.fixture(scope="module")
def hosts() -> list[tuple[str, str]]:
    docs = real_code(40)
    if len(docs) < 40:
        pytest.skip("not enough real code on this machine")
    return docs


def test_normalize_fast_path_equals_definition():
    rng = random.Random(0)
    alphabet = "aBzZ(){}İÄé\U0001f600 \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\xa0\u2028\u3000\x85\ud800"
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 300)))
        assert normalize(text) == normalize_reference(text)
    assert normalize("  Return X +\ty\r\n") == "returnx+y"


def test_original_span_maps_back():
    text = "Hello  World\n\tfoo(Bar) baz"
    norm = normalize(text)
    start = norm.index("worldfoo(")
    a, b = original_span(text, start, start + len("worldfoo("))
    assert text[a:b] == "World\n\tfoo("


def test_whitelist_and_the_reference_quoting_bug():
    records = [
        {"task_id": "HumanEval/28", "prompt": 'def f(strings):\n    """ Join. """\n', "canonical_solution": "    return ''.join(strings)\n"},
        {"task_id": "HumanEval/53", "prompt": 'def add(x, y):\n    """Add."""\n', "canonical_solution": "    return x + y\n"},
        {"task_id": "HumanEval/0", "prompt": 'def g(a):\n    """Long."""\n', "canonical_solution": "    return sorted(a)[::-1]\n"},
    ]  # fmt: skip
    # The reference wrote 'return ''.join(strings)': Python joins the two literals.
    assert REFERENCE_WHITELIST_AS_EVALUATED[3] == "return .join(strings)"
    solutions = [s.task_id for s in humaneval_strings(records) if s.field == "canonical_solution"]
    assert solutions == ["HumanEval/0"]
    with_bug = [
        s.task_id
        for s in humaneval_strings(records, REFERENCE_WHITELIST_AS_EVALUATED)
        if s.field != "docstring"
    ]
    assert with_bug == ["HumanEval/28", "HumanEval/0"]  # the reference kept searching for HumanEval/28


@needs_shared
def test_whitelist_on_real_humaneval(strings, finder):
    solutions = {s.task_id for s in strings if s.benchmark == "humaneval" and s.field == "canonical_solution"}
    assert {"HumanEval/23", "HumanEval/28", "HumanEval/41", "HumanEval/53"}.isdisjoint(solutions)
    assert len(solutions) == 160
    for trivial in HUMANEVAL_WHITELIST:
        assert finder.find(f"def f(x, y, n, string, strings):\n    {trivial}\n") is None


def _naive(normalised_strings: set[str], text: str) -> set[str]:
    norm = normalize(text)
    return {s for s in normalised_strings if s in norm}


@needs_shared
def test_automaton_equals_naive_loop(strings, hosts):
    """Same decisions and same matched strings as testing every string (on planted and clean docs)."""
    matcher = SubstringMatcher(strings, anchor_chars=16)  # short anchors: more shared anchors and candidates
    rng = random.Random(1)
    docs = []
    for i, (_, host) in enumerate(hosts[:60]):
        if i % 2:
            cut = rng.randrange(len(host) + 1)
            host = host[:cut] + "\n" + rng.choice(strings).text + "\n" + host[cut:]
        docs.append(host)
    docs.append(strings[0].text[:-1])  # a truncated string is not a match
    normalised = {normalize(s.text) for s in strings}
    for doc in docs:
        found = {normalize(doc)[m.start : m.start + m.length] for m in matcher.find_all(normalize(doc))}
        assert found == _naive(normalised, doc)
        assert (matcher.find(normalize(doc)) is not None) == bool(found)


def _plant(host: str, text: str, rng: random.Random, case: str) -> str:
    if case == "upper":
        text = text.upper()
    elif case == "reindented":
        text = "\n".join("        " + line.strip() for line in text.splitlines())
    lines = host.splitlines(keepends=True)
    at = rng.randrange(len(lines) + 1)
    return "".join(lines[:at]) + "\n" + text + "\n" + "".join(lines[at:])


@needs_shared
@pytest.mark.parametrize("case", ["verbatim", "upper", "reindented"])
def test_planted_recall_per_benchmark(strings, finder, hosts, case):
    """Every benchmark's strings planted in real files are all found: recall 1.0, right benchmark and task."""
    rng = random.Random(2)
    by_benchmark: dict[str, list[BenchmarkString]] = {}
    for s in strings:
        by_benchmark.setdefault(s.benchmark, []).append(s)
    found = Counter()
    planted = Counter()
    for bench, pool in sorted(by_benchmark.items()):
        for s in rng.sample(pool, 25):
            _, host = hosts[rng.randrange(len(hosts))]
            doc = _plant(host, s.text, rng, case)
            planted[bench] += 1
            if finder.find(doc) is not None:
                matches = finder.substrings.find_all(normalize(doc))
                norm = normalize(doc)
                found[bench] += normalize(s.text) in {norm[m.start : m.start + m.length] for m in matches}
    assert found == planted == {"apps": 25, "humaneval": 25, "mbpp": 25, "multipl-e": 25}


@needs_shared
def test_finding_names_task_and_offset(finder, strings):
    target = next(s for s in strings if s.benchmark == "mbpp" and s.task_id == "11" and s.field == "code")
    prefix = "# utils\nimport os\n\n"
    doc = prefix + target.text.replace("\r\n", "\n") + "\n\nprint(1)\n"
    finding = finder.find(doc)
    assert (finding.benchmark, finding.task_id, finding.field, finding.match) == (
        "mbpp",
        "11",
        "code",
        "substring",
    )
    assert finding.offset == len(prefix)
    assert doc[finding.offset : finding.offset + finding.matched_chars] == target.text.replace("\r\n", "\n")


@needs_shared
def test_no_removals_on_unplanted_real_code(finder, hosts):
    removed = [(name, finder.find(text)) for name, text in hosts]
    assert [(n, f) for n, f in removed if f is not None] == []
    assert len(hosts) >= 100


@needs_shared
def test_ngram_mode_catches_edits_substrings_miss(strings, finder):
    ngram = Decontaminator(strings, mode="ngram")
    docstring = next(s for s in strings if s.task_id == "HumanEval/0" and s.field == "docstring").text
    edited = "x = 1\n# " + docstring.replace("numbers", "nums", 1)  # one word renamed
    assert finder.find(edited) is None
    finding = ngram.find(edited)
    assert (finding.benchmark, finding.task_id, finding.match) == ("humaneval", "HumanEval/0", "ngram")
    assert edited[finding.offset : finding.offset + finding.matched_chars].startswith("are any two numbers")


def test_ngram_index_ignores_boilerplate_and_verifies_hits():
    shared = "import sys input sys stdin readline n int input a list map int input split"
    strings = [
        BenchmarkString("apps", f"test/{i}", "solution:0", f"{shared} print(solve_{i}(a))") for i in range(12)
    ]
    index = NgramIndex(strings, n=13, max_tasks=10)
    assert index.ignored_boilerplate > 0
    assert index.find(shared) is None  # in 12 tasks > 10: boilerplate
    hit = index.find("zz " + f"{shared} print(solve_3(a))")
    assert hit is not None and hit.task_id == "test/3"
    assert NgramIndex(strings, n=13, max_tasks=20).find(shared) is not None
