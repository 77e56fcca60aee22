"""Encoded data: base64 runs, hex byte runs and ``\\uXXXX`` (and other) escape runs inside source files.

Why: inlined fonts, images, certificates, lookup tables and escaped text are
data, not code; a model trained on them learns to emit noise. The Stack v2
(StarCoder2 paper, §3) dropped a file when one match of its three patterns was
longer than 1,024 characters or the matches covered more than half of the
file. The patterns here are our own, tightened where the paper's matched code:

* **base64**: a run of ``[A-Za-z0-9+/=]`` and line breaks of at least
  ``min_base64`` (64) characters that holds both a letter and a digit, so
  separator lines (``//////``, ``=====``) and runs of blank lines are not data;
  the run starts where the alphabet starts (no re-scan inside a run), and the
  line breaks at its ends are not counted.
* **hex**: at least ``min_hex_tokens`` (8) hex values in a row written as
  ``0x..``/``\\x..`` (separated by commas or blanks, or nothing for ``\\x``
  escapes; a comment ends the run: a commented table such as ``java.lang.Character``'s
  block starts is a table in a hand-written class, not a blob), or as bare two-digit pairs (``de ad be ef``, ``00:1a:2b``) holding
  at least one letter a-f, so lists of decimal numbers are not hex.
* **escapes** (the issue's ``\\uXXXX`` runs, widened): a run of string escapes
  holding at least ``min_escapes`` (8) code escapes (``\\uXXXX``, ``\\xXX`` or
  octal ``\\101``); one-letter escapes (``\\n``, ``\\t``) may sit between them,
  and the run goes on across a string concatenation (``" +`` / ``"`` at a line
  end, a ``//`` or ``#`` comment between), because generated tables split
  their strings that way (the JDK's ``CharacterData*`` and charset tables).

The score is the encoded fraction (UTF-8 bytes covered by the union of all
matches / the file's bytes: the same as characters for ASCII code); the
longest single match is kept too, so both thresholds can be re-decided from
stored columns. The paper's matched ``0x12`` inside identifiers too; ours
does as well (no look-behind, which would cost the literal-prefix speed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

MAX_MATCH_CHARS = 1024
MAX_FRACTION = 0.5
MIN_BASE64 = 64
MIN_HEX_TOKENS = 8
MIN_ESCAPES = 8
MAX_PAIR_GAP = 16  # bare hex pairs further apart than this many separator bytes are two runs

_ESCAPE = rb"\\(?:u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|[0-7]{1,3}|[btnfrv\"'\\])"
_JOIN = (
    rb"""["']\s*+\+?\s*+(?:(?://|\#)[^\n]*+\s*+)*+["']"""  # end a string literal, concatenate, open the next
)
_CODE_ESCAPE = re.compile(rb"\\(?:u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|[0-7]{1,3})")
_HEX_TOKEN = rb"[0-9a-fA-F]{2,16}[uUlL]?"


def _table(chars: bytes) -> np.ndarray:
    table = np.zeros(256, dtype=bool)
    table[np.frombuffer(chars, dtype=np.uint8)] = True
    return table


_DIGITS, _LOWER, _UPPER = b"0123456789", b"abcdefghijklmnopqrstuvwxyz", b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_BASE64 = _table(_DIGITS + _LOWER + _UPPER + b"+/=\n")
_LETTER, _DIGIT = _table(_LOWER + _UPPER), _table(_DIGITS)
_HEX, _HEX_LETTER = _table(_DIGITS + b"abcdefABCDEF"), _table(b"abcdefABCDEF")
_WORD, _PAIR_SEP = _table(_DIGITS + _LOWER + _UPPER + b"_"), _table(b" ,:")


@dataclass(frozen=True)
class EncodedScore:
    fraction: float  # UTF-8 bytes inside any match / all bytes (0 for an empty file)
    longest: int  # bytes (= characters: every pattern is ASCII) of the longest single match
    longest_kind: str | None  # "base64", "hex" or "escapes"
    matches: int


@dataclass(frozen=True)
class EncodedScanner:
    """The patterns at the given minimum lengths; ``score`` is the per-document core (pure, thread-safe).

    It works on the UTF-8 bytes: the two class-run patterns (base64, bare hex pairs) with numpy over a byte
    classification (Python's ``re`` re-tries a character-class run at every position: 30 MB/s), the
    escape and ``0x``/``\\x`` patterns with ``re`` from their literal first character."""

    min_base64: int = MIN_BASE64
    min_hex_tokens: int = MIN_HEX_TOKENS
    min_escapes: int = MIN_ESCAPES

    def __post_init__(self) -> None:
        more = self.min_hex_tokens - 1
        run = rb"(?:[,\s]*+(?:0[xX]|\\x)" + _HEX_TOKEN + rb"){%d,}" % more
        object.__setattr__(self, "_zero_x", re.compile(rb"0[xX]" + _HEX_TOKEN + run))
        object.__setattr__(self, "_backslash_x", re.compile(rb"\\x" + _HEX_TOKEN + run))
        object.__setattr__(
            self, "_escapes", re.compile(_ESCAPE + rb"(?:(?:" + _JOIN + rb")?" + _ESCAPE + rb")+")
        )

    def _base64_spans(self, data: bytes, codes: np.ndarray) -> list[tuple[int, int, str]]:
        edges = np.diff(np.concatenate(([0], _BASE64[codes].view(np.int8), [0])))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        found = []
        long_enough = ends - starts >= self.min_base64
        for start, end in zip(starts[long_enough], ends[long_enough], strict=True):
            start, end = int(start), int(end)
            while start < end and data[start] == 10:  # line breaks at the ends of a run are not data
                start += 1
            while end > start and data[end - 1] == 10:
                end -= 1
            run = codes[start:end]
            if end - start >= self.min_base64 and _LETTER[run].any() and _DIGIT[run].any():
                found.append((start, end, "base64"))
        return found

    def _pair_spans(self, codes: np.ndarray) -> list[tuple[int, int, str]]:
        """Runs of bare two-digit hex tokens (``de ad be ef``), token separated from token by 1 to
        ``MAX_PAIR_GAP`` bytes of ``[ ,:]``."""
        size = len(codes)
        if size < 2:
            return []
        word = _WORD[codes]
        hexes = _HEX[codes]
        before = np.concatenate(([False], word[:-2]))  # the byte before a token may not be a word byte
        after = np.concatenate((word[2:], [False]))  # nor the byte after it
        starts = np.flatnonzero(hexes[:-1] & hexes[1:] & ~before & ~after)
        if len(starts) < self.min_hex_tokens:
            return []
        # linked: the bytes between two tokens are 1 to MAX_PAIR_GAP separators (checked at those offsets only)
        gap_from = starts[:-1] + 2
        gaps = starts[1:] - gap_from
        linked = (gaps >= 1) & (gaps <= MAX_PAIR_GAP)
        for offset in range(MAX_PAIR_GAP):
            inside = linked & (gaps > offset)
            if not inside.any():
                break
            linked[inside] = _PAIR_SEP[codes[gap_from[inside] + offset]]
        breaks = np.flatnonzero(~linked)  # a run of tokens ends after token i when linked[i] is False
        first = np.concatenate(([0], breaks + 1))
        last = np.concatenate((breaks, [len(starts) - 1]))
        found = []
        long_enough = last - first + 1 >= self.min_hex_tokens
        for a, b in zip(first[long_enough], last[long_enough], strict=True):
            start, end = int(starts[a]), int(starts[b]) + 2
            if _HEX_LETTER[codes[start:end]].any():  # "10 20 30 ..." are numbers, not hex
                found.append((start, end, "hex"))
        return found

    def spans(self, content: str) -> list[tuple[int, int, str]]:
        """(start, end, kind) of every match, as offsets into the content's UTF-8 bytes, in no particular order."""
        return self._spans(content.encode("utf-8", "surrogatepass"))

    def _spans(self, data: bytes) -> list[tuple[int, int, str]]:
        codes = np.frombuffer(data, dtype=np.uint8)
        found = self._base64_spans(data, codes) + self._pair_spans(codes)
        if b"0x" in data or b"0X" in data:
            found += [(*m.span(), "hex") for m in self._zero_x.finditer(data)]
        if b"\\" in data:
            found += [(*m.span(), "hex") for m in self._backslash_x.finditer(data)]
            for match in self._escapes.finditer(data):
                if len(_CODE_ESCAPE.findall(match.group())) >= self.min_escapes:
                    found.append((*match.span(), "escapes"))
        return found

    def score(self, content: str) -> EncodedScore:
        data = content.encode("utf-8", "surrogatepass")
        spans = self._spans(data) if data else []
        if not spans:
            return EncodedScore(0.0, 0, None, 0)
        longest = max(spans, key=lambda s: (s[1] - s[0], -s[0]))
        covered, reach = 0, 0
        for start, end, _ in sorted(spans):
            if end > reach:
                covered += end - max(start, reach)
                reach = end
        return EncodedScore(covered / len(data), longest[1] - longest[0], longest[2], len(spans))


def encoded_failure(
    score: EncodedScore, max_match_chars: int = MAX_MATCH_CHARS, max_fraction: float = MAX_FRACTION
) -> str | None:
    """The reason to drop the file (one match too long, then too much of it encoded), or None to keep it."""
    if score.longest > max_match_chars:
        return "long_encoded_match"
    if score.fraction > max_fraction:
        return "high_encoded_fraction"
    return None
