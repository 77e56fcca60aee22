"""Long files: more than ``max_lines`` lines (100,000 in The Stack v2).

Why: files that long are data dumps or generated tables, never code a person
reads. Lines are counted as ``str.splitlines`` would for ``\\n`` line ends: the
line breaks, plus one for a last line without a break (an empty file has 0).
"""

from __future__ import annotations

MAX_LINES = 100_000


def line_count(content: str) -> int:
    breaks = content.count("\n")
    return breaks + (1 if content and not content.endswith("\n") else 0)


def too_long(lines: int, max_lines: int = MAX_LINES) -> bool:
    """Dropped when the file has more than ``max_lines`` lines."""
    return lines > max_lines
