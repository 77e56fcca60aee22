"""The basic filters of bigcode-dataset: very long lines, long average lines, little alphanumeric text.

These catch minified, generated and data files. A document is dropped when
``max_line_length > max_line_length``, ``avg_line_length > max_avg_line_length``
or ``alphanum_fraction < min_alphanum_fraction`` (checked in that order; the
first failing rule is the reason).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BasicThresholds:
    max_line_length: int = 1000
    max_avg_line_length: float = 100.0
    min_alphanum_fraction: float = 0.25


def basic_failure(
    max_line_length: float, avg_line_length: float, alphanum_fraction: float, t: BasicThresholds
) -> tuple[str, float, float] | None:
    """(reason, value, threshold) of the first rule the document breaks, or None to keep it."""
    if max_line_length > t.max_line_length:
        return "max_line_length", max_line_length, t.max_line_length
    if avg_line_length > t.max_avg_line_length:
        return "avg_line_length", avg_line_length, t.max_avg_line_length
    if alphanum_fraction < t.min_alphanum_fraction:
        return "alphanum_fraction", alphanum_fraction, t.min_alphanum_fraction
    return None
