"""Terminal progress for long local runs: documents and MB seen per stage, and the rate.

Why its own tiny module and not Beam metrics: local runners only report
metrics at the end, and a multi-hour DirectRunner / FnApiRunner run on a
laptop should say how far it got. :class:`CountProgress` is a pass-through
step the pipeline puts before each stage; every worker *process* shares one
:class:`StageProgress` that prints one line to stderr at most every
``interval_s`` seconds. It is off when stderr is not a terminal (CI logs,
Dataflow workers), unless forced with ``force=True`` or
``STACKCURATE_PROGRESS=1`` (``=0`` switches it off everywhere).
:func:`progress_bar` gives the sample builder and tokenizer training the same
on/off rule around ``tqdm``.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, TypeVar

import apache_beam as beam

ENV_SWITCH = "STACKCURATE_PROGRESS"
DEFAULT_INTERVAL_S = 5.0
T = TypeVar("T")


def progress_enabled(stream: IO[str] | None = None, force: bool | None = None) -> bool:
    """``force`` wins, then ``STACKCURATE_PROGRESS`` (1/0), then whether ``stream`` is a terminal."""
    if force is not None:
        return force
    switch = os.environ.get(ENV_SWITCH, "").strip().lower()
    if switch in ("1", "true", "yes", "on"):
        return True
    if switch in ("0", "false", "no", "off"):
        return False
    stream = stream if stream is not None else sys.stderr
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _human(n: float) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.1f}{unit}"
    return f"{n:.0f}"


class StageProgress:
    """Thread-safe counters per stage that print a one-line summary at most every ``interval_s``."""

    def __init__(
        self,
        stream: IO[str] | None = None,
        interval_s: float = DEFAULT_INTERVAL_S,
        enabled: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._stream = stream
        self.interval_s = interval_s
        self.enabled = progress_enabled(stream, enabled)
        self._clock = clock
        self._lock = threading.Lock()
        self._start = clock()
        self._last_print = self._start
        self.docs: dict[str, int] = {}
        self.bytes: dict[str, int] = {}
        self._first_seen: dict[str, float] = {}

    def add(self, stage: str, docs: int = 1, nbytes: int = 0) -> None:
        """Count documents and bytes for a stage; print if the interval has passed."""
        if not self.enabled:
            return
        with self._lock:
            now = self._clock()
            self._first_seen.setdefault(stage, now)
            self.docs[stage] = self.docs.get(stage, 0) + docs
            self.bytes[stage] = self.bytes.get(stage, 0) + nbytes
            if now - self._last_print >= self.interval_s:
                self._last_print = now
                self._write(self.line(now))

    def line(self, now: float | None = None) -> str:
        """``[progress 0:01:05] validate 12.3k docs 45.6 MB (1.2k docs/s, 3.4 MB/s) | basic ...``"""
        now = self._clock() if now is None else now
        elapsed = int(now - self._start)
        parts = []
        for stage, docs in self.docs.items():
            seconds = max(now - self._first_seen[stage], 1e-9)
            megabytes = self.bytes[stage] / 1e6
            parts.append(
                f"{stage} {_human(docs)} docs {megabytes:,.1f} MB "
                f"({_human(docs / seconds)} docs/s, {megabytes / seconds:,.1f} MB/s)"
            )
        clock = f"{elapsed // 3600}:{elapsed // 60 % 60:02d}:{elapsed % 60:02d}"
        return f"[progress {clock}] " + (" | ".join(parts) or "waiting for data")

    def close(self) -> None:
        """Print the final totals (if anything was counted)."""
        if self.enabled and self.docs:
            with self._lock:
                self._write(self.line())

    def _write(self, text: str) -> None:
        stream = self._stream if self._stream is not None else sys.stderr
        print(text, file=stream, flush=True)


_shared: StageProgress | None = None
_shared_lock = threading.Lock()


def shared_progress(force: bool | None = None, interval_s: float = DEFAULT_INTERVAL_S) -> StageProgress:
    """The one reporter of this process (all stages of a local run print on one line)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = StageProgress(interval_s=interval_s, enabled=force)
        return _shared


def reset_shared_progress() -> None:
    """Forget the process reporter (tests, or a second pipeline in the same process)."""
    global _shared
    with _shared_lock:
        _shared = None


def _doc_bytes(doc: Any) -> int:
    content = doc.get("content") if isinstance(doc, dict) else None
    return len(content.encode("utf-8", "surrogatepass")) if isinstance(content, str) else 0


class _CountFn(beam.DoFn):
    def __init__(self, stage: str, force: bool | None, interval_s: float):
        self._stage = stage
        self._force = force
        self._interval_s = interval_s

    def setup(self) -> None:
        self._progress = shared_progress(self._force, self._interval_s)

    def process(self, doc: Any) -> Iterator[Any]:
        if self._progress.enabled:
            self._progress.add(self._stage, 1, _doc_bytes(doc))
        yield doc


class CountProgress(beam.PTransform):
    """Pass-through step that counts documents and content bytes reaching ``stage``."""

    def __init__(self, stage: str, force: bool | None = None, interval_s: float = DEFAULT_INTERVAL_S):
        super().__init__(label=f"Progress_{stage}")
        self._stage = stage
        self._force = force
        self._interval_s = interval_s

    def expand(self, docs: beam.PCollection) -> beam.PCollection:
        return docs | "Count" >> beam.ParDo(_CountFn(self._stage, self._force, self._interval_s))


def progress_bar(
    iterable: Iterable[T],
    total: int | None = None,
    desc: str = "",
    unit: str = "it",
    force: bool | None = None,
) -> Iterable[T]:
    """``tqdm`` on stderr under the same on/off rule as the stage progress."""
    from tqdm.auto import tqdm

    return tqdm(
        iterable,
        total=total,
        desc=desc,
        unit=unit,
        file=sys.stderr,
        disable=not progress_enabled(force=force),
    )
