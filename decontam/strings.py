"""Benchmark strings: what is matched, and the one text normalisation used on both sides.

Every string searched for carries the benchmark and task it comes from, so a
removed file's ledger row says exactly which problem it contained. The
selection follows the SantaCoder-era BigCode decontamination
(``bigcode-dataset/decontamination/benchmark_data.py``) with two documented
differences: APPS solutions are included (BigCode skipped their 115k strings
because its loop was too slow), and the HumanEval whitelist is the one the
reference meant to write (its fourth entry had a quoting bug, see
``HUMANEVAL_WHITELIST``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

HUMANEVAL = "humaneval"
MBPP = "mbpp"
APPS = "apps"
MULTIPL_E = "multipl-e"
BENCHMARKS: tuple[str, ...] = (HUMANEVAL, MBPP, APPS, MULTIPL_E)

# MBPP task ids reserved for evaluation (upstream README; the HF "test" split).
MBPP_TEST_IDS = range(11, 511)

# HumanEval canonical solutions too generic to count as contamination (kept in
# training data). The reference wrote the last one as 'return ''.join(strings)',
# which Python reads as 'return ' + '.join(strings)' == "return .join(strings)":
# that string equals no solution, so HumanEval/28's `return ''.join(strings)`
# stayed in the reference's search list. This list has the intended string.
HUMANEVAL_WHITELIST: tuple[str, ...] = (
    "return x + y",
    "return len(string)",
    "return n**2",
    "return ''.join(strings)",
)

# What the reference's whitelist literally evaluated to (kept for the test that documents the bug).
REFERENCE_WHITELIST_AS_EVALUATED: tuple[str, ...] = (
    "return x + y",
    "return len(string)",
    "return n**2",
    "return " + ".join(strings)",
)

_DOCSTRING = re.compile(r'("""|\'\'\')(.*?)\1', re.DOTALL)


@dataclass(frozen=True)
class BenchmarkString:
    """One string to search for, with its provenance."""

    benchmark: str
    task_id: str
    field: str
    text: str


def normalize_reference(text: str) -> str:
    """The definition of the normalisation (slow path): lower-cased, every whitespace character removed."""
    return "".join(text.split()).lower()


# Fast path: one ``bytes.translate`` over the UTF-8 bytes lower-cases ASCII and
# deletes every ASCII byte that ``str.split()`` treats as whitespace (\t \n \v
# \f \r, \x1c-\x1f, space). UTF-8 multi-byte sequences contain no byte below
# 0x80, so they pass through untouched; texts holding non-ASCII whitespace
# (U+00A0, U+2028, ...) take the slow path.
LOWER_ASCII = bytes(b + 32 if 65 <= b <= 90 else b for b in range(256))
ASCII_SPACE = b"\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f "
_NON_ASCII_SPACE = re.compile("[" + "".join(chr(c) for c in range(128, 0x3001) if chr(c).isspace()) + "]")


def normalize(text: str) -> str:
    """Lower-case and delete all whitespace: matching is case- and whitespace-insensitive.

    Applied to benchmark strings and documents alike, so a match survives
    re-indentation, CRLF line ends (MBPP's ``code`` uses ``\\r\\n``), tabs and
    re-spacing by formatters (``x+y`` vs ``x + y``). Every match of the
    reference's lower-case substring test is still a match. Equal to
    :func:`normalize_reference` (tested); one C pass for code (~400 MB/s).
    """
    if not text.isascii():
        if _NON_ASCII_SPACE.search(text):
            return normalize_reference(text)
        text = text.lower()
    return (
        text.encode("utf-8", "surrogatepass")
        .translate(LOWER_ASCII, ASCII_SPACE)
        .decode("utf-8", "surrogatepass")
    )


def extract_docstring(prompt: str) -> str:
    """The entry point's docstring: the last triple-quoted block of a HumanEval prompt."""
    blocks = _DOCSTRING.findall(prompt)
    if not blocks:
        raise ValueError(f"no docstring in prompt: {prompt[:80]!r}")
    return blocks[-1][1].strip()


def humaneval_strings(
    records: Iterable[Mapping[str, Any]], whitelist: Iterable[str] = HUMANEVAL_WHITELIST
) -> list[BenchmarkString]:
    """Docstrings and canonical solutions; solutions on the whitelist are left out."""
    allowed = {normalize(s) for s in whitelist}
    out = []
    for rec in records:
        task = str(rec["task_id"])
        out.append(BenchmarkString(HUMANEVAL, task, "docstring", extract_docstring(rec["prompt"])))
        solution = rec["canonical_solution"].strip()
        if normalize(solution) not in allowed:
            out.append(BenchmarkString(HUMANEVAL, task, "canonical_solution", solution))
    return out


def mbpp_strings(records: Iterable[Mapping[str, Any]]) -> list[BenchmarkString]:
    """``text`` and ``code`` of the evaluation tasks (ids 11-510) only."""
    out = []
    for rec in records:
        task = int(rec["task_id"])
        if task not in MBPP_TEST_IDS:
            continue
        out.append(BenchmarkString(MBPP, str(task), "text", rec["text"].strip()))
        out.append(BenchmarkString(MBPP, str(task), "code", rec["code"].strip()))
    return out


def _json_list(value: Any) -> list:
    """APPS stores ``solutions`` as a JSON string (Hub) or a list (already parsed); empty means none."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = json.loads(value)
    return list(value)


def apps_strings(
    task_id: str, question: str, solutions: Any, with_solutions: bool = True
) -> list[BenchmarkString]:
    """One APPS problem: its question and (optionally) every solution."""
    out = [BenchmarkString(APPS, task_id, "question", question.strip())]
    if with_solutions:
        for i, solution in enumerate(_json_list(solutions)):
            out.append(BenchmarkString(APPS, task_id, f"solution:{i}", solution.strip()))
    return out


def multipl_e_strings(records: Iterable[Mapping[str, Any]], variant: str) -> list[BenchmarkString]:
    """MultiPL-E prompts; ``name`` (e.g. ``HumanEval_0_has_close_elements``) is the task id."""
    return [
        BenchmarkString(MULTIPL_E, rec["name"], f"prompt:{rec['language']}:{variant}", rec["prompt"].strip())
        for rec in records
    ]


def select_strings(strings: Iterable[BenchmarkString], min_chars: int = 0) -> list[BenchmarkString]:
    """Drop empty strings and those whose normalised form is shorter than ``min_chars``."""
    return [s for s in strings if len(normalize(s.text)) >= max(1, min_chars)]


_NON_SPACE = re.compile(r"\S+")


def original_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Map a ``[start, end)`` span of ``normalize(text)`` back to a span of ``text``.

    Only called for matched documents, so a second pass over the text is fine.
    Token lengths are measured after lower-casing, as :func:`normalize` does.
    """
    pos = 0  # position of the current token in the normalised text
    orig_start = None
    for tok in _NON_SPACE.finditer(text):
        length = len(tok.group().lower())
        if orig_start is None and start < pos + length:
            orig_start = tok.start() + min(start - pos, len(tok.group()))
        if end <= pos + length:
            orig_end = tok.start() + min(end - pos, len(tok.group()))
            return (tok.start() if orig_start is None else orig_start), orig_end
        pos += length
    return (len(text) if orig_start is None else orig_start), len(text)
