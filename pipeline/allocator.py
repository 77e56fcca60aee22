"""glibc's malloc, set for a process that judges documents.

Why: glibc gives back to the system every freed stretch at the top of its heap over 128 kB (its trim
threshold, which slides up to at most twice the largest block it has served by ``mmap``), and the next
batch's documents (Python strings, pickled records: every block over 512 bytes is glibc's) take those
pages back one fault at a time. A bundle that reads, judges and forgets 5 MB units does that for every
unit: the santacoder job on the 200 MB sample took 525k page faults and 2.1-2.3 s of system time with two
workers (346-364k and 1.6-1.9 s with one). With blocks under 32 MB served from the heap (glibc's own
ceiling for its sliding threshold) and up to 64 MB kept free at its top it took 290-300k and 1.5-1.6 s
with two, 200k and 1.3-1.5 s with one; the run's wall time went from 10.6-11.8 to 9.9-10.6 s with two
workers, 17.9-18.1 to 16.8-17.6 s with one, and its peak RSS up by 6-25 MB (``bench/``
figures in docs/dataflow.md). Forks inherit the setting (the warm workers' parent sets it before it
forks them). Where a user tuned malloc in the environment, that tuning stands. Not glibc (macOS, musl):
nothing to set.
"""

from __future__ import annotations

import ctypes
import os

# <malloc.h>'s mallopt parameters
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # DEFAULT_MMAP_THRESHOLD_MAX on 64-bit: where glibc's sliding threshold stops
TRIM_THRESHOLD = 64 << 20
USER_TUNING = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_")


def keep_freed_heap() -> bool:
    """Serve blocks under :data:`MMAP_THRESHOLD` from the heap and keep up to :data:`TRIM_THRESHOLD`
    freed at its top, in this process and its future forks. False where nothing was set (not glibc, or
    the user's own tuning); idempotent."""
    if not is_glibc() or user_tuned():
        return False
    libc = ctypes.CDLL(None)
    for param, value in ((M_MMAP_THRESHOLD, MMAP_THRESHOLD), (M_TRIM_THRESHOLD, TRIM_THRESHOLD)):
        if libc.mallopt(param, value) != 1:
            raise OSError(f"glibc's mallopt({param}, {value}) refused the setting")
    return True


def is_glibc() -> bool:
    """Whether this process's C library is glibc (``mallopt`` with the parameters above)."""
    try:
        return bool(os.confstr("CS_GNU_LIBC_VERSION"))
    except (ValueError, OSError):  # not a name here (macOS), or no value (musl)
        return False


def user_tuned() -> bool:
    """Whether the environment tunes glibc's malloc thresholds (its ``MALLOC_*_`` variables or
    ``GLIBC_TUNABLES``)."""
    return any(name in os.environ for name in USER_TUNING) or "glibc.malloc." in os.environ.get(
        "GLIBC_TUNABLES", ""
    )
