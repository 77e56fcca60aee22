"""Progress of local runs on stderr: one short line per active stage, with an ETA from the input size.

Why its own module and not Beam metrics: local runners only report metrics at
the end, and a multi-hour FnApiRunner run on a laptop should say how far it
got. :class:`CountProgress` is a pass-through step the pipeline puts before
each stage (and on each stage's removed output); every worker *process*
shares one :class:`StageProgress`. Every ``interval_s`` (10 s on a terminal,
30 s in a log) it prints a line for each stage that moved since the last one::

    [0:01:05] basic        12.3k docs    45.6 MB   3.4 MB/s  ETA 0:02:10

The rate is over the last interval, not the whole run. The ETA needs the
number of input documents, which :meth:`StageProgress.expect` counts in the
background (parquet footers, jsonl lines); a later stage expects the input
minus what earlier stages removed so far, pro rata. It is on by default for
local runs; ``STACKCURATE_PROGRESS=0`` switches it off (``=1`` forces it on).
:func:`progress_bar` gives other commands the same on/off rule around ``tqdm``.
"""

from __future__ import annotations

import gzip
import itertools
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, Any, TypeVar

import apache_beam as beam

ENV_SWITCH = "STACKCURATE_PROGRESS"
TERMINAL_INTERVAL_S = 10.0
LOG_INTERVAL_S = 30.0
T = TypeVar("T")
log = logging.getLogger("stackcurate")


def _isatty(stream: IO[str] | None) -> bool:
    stream = stream if stream is not None else sys.stderr
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def progress_enabled(stream: IO[str] | None = None, force: bool | None = None) -> bool:
    """``force`` wins, then ``STACKCURATE_PROGRESS`` (1/0); on by default (terminal or log)."""
    if force is not None:
        return force
    switch = os.environ.get(ENV_SWITCH, "").strip().lower()
    return switch not in ("0", "false", "no", "off")


def default_interval(stream: IO[str] | None = None) -> float:
    """Seconds between reports: often enough to watch on a terminal, sparse enough for a log file."""
    return TERMINAL_INTERVAL_S if _isatty(stream) else LOG_INTERVAL_S


def _human(n: float) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.1f}{unit}"
    return f"{n:.0f}"


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def count_input_docs(files: Sequence[str]) -> int:
    """Documents in the input: parquet footers' row counts, non-blank jsonl lines."""
    import pyarrow.parquet as pq

    from pipeline.inputs import open_binary

    total = 0
    for path in files:
        with open_binary(path) as raw:
            if path.endswith(".parquet"):
                total += pq.ParquetFile(raw).metadata.num_rows
                continue
            stream = gzip.GzipFile(fileobj=raw) if path.endswith(".gz") else raw
            total += sum(1 for line in stream if line.strip())
    return total


class StageProgress:
    """Thread-safe per-stage counters that print a short line per moving stage at most every ``interval_s``."""

    def __init__(
        self,
        stream: IO[str] | None = None,
        interval_s: float | None = None,
        enabled: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._stream = stream
        self.interval_s = default_interval(stream) if interval_s is None else interval_s
        self.enabled = progress_enabled(stream, enabled)
        self._clock = clock
        self._lock = threading.Lock()
        self.reset()

    def reset(self, order: Sequence[str] = (), total_docs: int | None = None) -> None:
        """Start a new run: forget the counts; ``order`` is the stages' pipeline order."""
        self._start = self._last_print = self._clock()
        self.order = list(order)
        self.total_docs = total_docs
        self.docs: dict[str, int] = {}
        self.bytes: dict[str, int] = {}
        self.removed: dict[str, int] = {}
        self._reported: dict[
            str, tuple[float, int, int]
        ] = {}  # stage -> (time, docs, bytes) at its last line

    def expect(self, order: Sequence[str], files: Sequence[str]) -> None:
        """A new run of these stages over these files; the documents are counted in the background."""
        self.reset(order)
        if self.enabled and files:
            threading.Thread(
                target=self._count, args=(list(files),), daemon=True, name="progress-count"
            ).start()

    def _count(self, files: list[str]) -> None:
        try:
            total = count_input_docs(files)
        except Exception as exc:  # noqa: BLE001 - only the ETA is lost; the run reports bad input itself
            log.debug("progress: cannot count the input documents (%s); no ETA", exc)
            return
        with self._lock:
            self.total_docs = total

    def add(self, stage: str, docs: int = 1, nbytes: int = 0) -> None:
        """Count documents and content bytes reaching ``stage``; report if the interval has passed."""
        if self.enabled:
            with self._lock:
                self.docs[stage] = self.docs.get(stage, 0) + docs
                self.bytes[stage] = self.bytes.get(stage, 0) + nbytes
                self._reported.setdefault(
                    stage, (self._last_print, 0, 0)
                )  # a new stage: since the last report
                self._maybe_report()

    def add_removed(self, stage: str, docs: int = 1) -> None:
        """Count documents ``stage`` removed (they never reach the next stage: the ETA must know)."""
        if self.enabled:
            with self._lock:
                self.removed[stage] = self.removed.get(stage, 0) + docs
                self._maybe_report()

    def _maybe_report(self) -> None:
        now = self._clock()
        if now - self._last_print >= self.interval_s:
            self._last_print = now
            for line in self.lines(now):
                self._write(line)

    def expected_docs(self, stage: str) -> float | None:
        """Documents ``stage`` will see: the input, less what earlier stages removed, pro rata so far."""
        if self.total_docs is None or stage not in self.order:
            return None
        expected = float(self.total_docs)
        for previous, current in itertools.pairwise(self.order):
            if previous == stage:
                break
            kept, removed = self.docs.get(current, 0), self.removed.get(previous, 0)
            if kept + removed:
                expected *= kept / (kept + removed)
        return expected

    def lines(self, now: float | None = None) -> list[str]:
        """One line per stage that moved since its last line; remembers what it reported."""
        now = self._clock() if now is None else now
        out = []
        for stage in sorted(
            self.docs, key=lambda s: self.order.index(s) if s in self.order else len(self.order)
        ):
            then, docs_then, bytes_then = self._reported[stage]
            docs, nbytes = self.docs[stage], self.bytes[stage]
            if docs == docs_then:
                continue
            seconds = max(now - then, 1e-9)
            line = (
                f"[{_clock(now - self._start)}] {stage:<11} {_human(docs):>6} docs {nbytes / 1e6:>9,.1f} MB "
                f"{(nbytes - bytes_then) / 1e6 / seconds:>6.1f} MB/s"
            )
            expected, rate = self.expected_docs(stage), (docs - docs_then) / seconds
            if expected is not None and docs_then:  # a stage's first interval includes its setup: no ETA yet
                line += f"  ETA {_clock(max(expected - docs, 0) / rate)}"
            out.append(line)
            self._reported[stage] = (now, docs, nbytes)
        return out

    def close(self) -> None:
        """The run is over: stop counting until the next :meth:`expect`."""
        with self._lock:
            self.reset()

    def _write(self, text: str) -> None:
        stream = self._stream if self._stream is not None else sys.stderr
        print(text, file=stream, flush=True)


_shared: StageProgress | None = None
_shared_lock = threading.Lock()


def shared_progress(force: bool | None = None, interval_s: float | None = None) -> StageProgress:
    """The one reporter of this process (all stages of a local run report through it)."""
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
    def __init__(self, stage: str, removed: bool, force: bool | None, interval_s: float | None):
        self._stage = stage
        self._removed = removed
        self._force = force
        self._interval_s = interval_s

    def setup(self) -> None:
        self._progress = shared_progress(self._force, self._interval_s)

    def process(self, element: Any) -> Iterator[Any]:
        if self._progress.enabled:
            if self._removed:
                self._progress.add_removed(self._stage)
            else:
                self._progress.add(self._stage, 1, _doc_bytes(element))
        yield element


class CountProgress(beam.PTransform):
    """Pass-through step that counts documents and content bytes reaching ``stage``
    (or, with ``removed=True``, the ledger rows of documents it removed)."""

    def __init__(
        self,
        stage: str,
        force: bool | None = None,
        interval_s: float | None = None,
        removed: bool = False,
    ):
        super().__init__(label=f"Progress{'Removed' if removed else ''}_{stage}")
        self._stage = stage
        self._removed = removed
        self._force = force
        self._interval_s = interval_s

    def expand(self, docs: beam.PCollection) -> beam.PCollection:
        return docs | "Count" >> beam.ParDo(
            _CountFn(self._stage, self._removed, self._force, self._interval_s)
        )


def progress_bar(
    iterable: Iterable[T],
    total: int | None = None,
    desc: str = "",
    unit: str = "it",
    force: bool | None = None,
) -> Iterable[T]:
    """``tqdm`` on stderr under the same on/off rule; in a log file it updates every 30 s, not 10 times a second."""
    from tqdm.auto import tqdm

    return tqdm(
        iterable,
        total=total,
        desc=desc,
        unit=unit,
        file=sys.stderr,
        disable=not progress_enabled(force=force),
        mininterval=0.1 if _isatty(sys.stderr) else LOG_INTERVAL_S,
    )
