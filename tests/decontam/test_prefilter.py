"""The compiled anchor pre-filter answers exactly "an automaton key occurs in the normalised text", so a
document it rejects is one the automaton finds nothing in."""

from __future__ import annotations

import random

import pytest

from decontam.core import Decontaminator
from decontam.matcher import SubstringMatcher
from decontam.prefilter import AnchorFilter
from decontam.strings import BenchmarkString, normalize

_ALPHABET = "ab(e) \t\r\n\x0bAB\u00e9\u00c9\u0130\U0001f600\ud800\u00a0\u2028xyz"


def _random_text(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(_ALPHABET) for _ in range(length))


@pytest.mark.parametrize("anchor_length", [1, 3, 8, 9, 12, 16, 40])
def test_filter_equals_substring_test(anchor_length: int) -> None:
    """Random anchors (key lengths below, at and above 8 and 16 bytes, non-ASCII ones too) against random
    texts with anchors planted re-cased and re-spaced: the filter says yes exactly when one occurs."""
    rng = random.Random(anchor_length)
    anchors = sorted(
        {normalize(_random_text(rng, anchor_length + rng.randrange(0, 6))) for _ in range(60)} - {""}
    )
    anchor_filter = AnchorFilter(anchors)
    hits = 0
    for trial in range(1500):
        text = _random_text(rng, rng.randrange(0, 120))
        if trial % 3 == 0:
            anchor = rng.choice(anchors)
            spaced = " ".join(anchor.upper() if rng.random() < 0.5 else anchor)
            at = rng.randrange(len(text) + 1)
            text = text[:at] + spaced + text[at:]
        expected = any(anchor in normalize(text) for anchor in anchors)
        assert anchor_filter.contains(text) == expected, (anchors, text)
        hits += expected
    assert hits >= 500  # the planted third at least


def test_empty_filter_and_empty_text() -> None:
    assert not AnchorFilter([]).contains("anything")
    assert not AnchorFilter(["abc"]).contains("")
    assert AnchorFilter(["abc"]).contains("A\tB\r\nC")
    assert AnchorFilter(["abc"]).contains("ab\u00a0c")  # normalize deletes non-ASCII whitespace too
    assert not AnchorFilter(["abc"]).contains("ab-c")


def test_matcher_results_unchanged_by_the_filter() -> None:
    """Decontaminator.find equals the automaton on the normalised text, on clean and planted documents."""
    rng = random.Random(5)
    strings = [
        BenchmarkString("b", f"t/{i}", "code", f"def f_{i}(x):\n    return (x + {i}) * y_{i % 7}")
        for i in range(200)
    ] + [BenchmarkString("b", "short", "code", "q(z)")]
    finder = Decontaminator(strings, anchor_chars=12)
    matcher: SubstringMatcher = finder.substrings
    found = 0
    for trial in range(400):
        text = f"x = {trial}\nclass A:\n    pass\n" * rng.randrange(1, 4)
        if trial % 4 == 0:
            text += rng.choice(strings).text.upper().replace("    ", "\t")
        expected = matcher.find(normalize(text))
        finding = finder.find(text)
        assert (finding is None) == (expected is None)
        if finding is not None:
            assert (finding.task_id, finding.matched_chars > 0) == (expected.task_id, True)
            found += 1
    assert found == 100
