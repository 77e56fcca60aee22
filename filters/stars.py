"""Stars filter: keep files whose repository has at least ``min_stars`` GitHub stars.

The SantaCoder paper says "at least 5 stars"; bigcode-dataset's
``preprocessing/filtering.py`` kept ``stars > threshold_stars`` (strictly more
than 5). We follow the paper, ``stars >= min_stars``; to reproduce the code's
behaviour set ``min_stars: 6``. A null ``max_stars_count`` (no star data)
counts as 0 stars, as the reference's ``convert_none_stars`` did.
"""

from __future__ import annotations

DEFAULT_MIN_STARS = 5


def stars_count(value: object) -> int:
    """``max_stars_count`` as an int, null counted as 0."""
    return int(value) if value is not None else 0


def keep_stars(stars: int, min_stars: int = DEFAULT_MIN_STARS) -> bool:
    """Kept when the repository has at least ``min_stars`` stars (inclusive)."""
    return stars >= min_stars
