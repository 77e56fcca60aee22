"""Long files: the line count and the 100,000-line threshold."""

from __future__ import annotations

from filters.long_files import MAX_LINES, line_count, too_long


def test_line_count_counts_a_last_line_without_a_break() -> None:
    assert [line_count(t) for t in ("", "a", "a\n", "a\nb", "a\nb\n", "\n\n")] == [0, 1, 1, 2, 2, 2]
    assert line_count("x\r\ny\r\n") == 2


def test_more_than_max_lines_is_too_long() -> None:
    assert MAX_LINES == 100_000
    assert not too_long(line_count("x\n" * 100_000))
    assert too_long(line_count("x\n" * 100_001))
    assert too_long(11, max_lines=10) and not too_long(10, max_lines=10)
