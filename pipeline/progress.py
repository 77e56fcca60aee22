"""Progress of local runs on stderr: one short line per active stage, with an ETA from the input size.

Why its own module and not Beam metrics: local runners only report metrics at
the end, and a multi-hour run on a laptop should say how far it got. Local runs
use several worker *processes* (``multi_processing``), so counting and printing
are split:

* **Workers count.** Every stage step calls :func:`record` (through
  ``pipeline.judging.report_progress``). When the launcher's reporter runs, ``STACKCURATE_PROGRESS_SPOOL``
  names its spool folder (set before Beam starts its workers, which inherit
  it); each process appends one short line per call to its own file there,
  ``stage docs bytes removed``. Appends are a few bytes per batch, never wait
  on the launcher and need no flush at exit (a line is in the file once
  ``os.write`` returned). Without a spool, :func:`record` does nothing.
* **The launcher reports.** :class:`StageProgress` (one per process,
  :func:`shared_progress`) owns the spool: :meth:`~StageProgress.expect`
  makes it and starts a thread that, every ``interval_s`` (10 s on a terminal,
  30 s in a log, ``STACKCURATE_PROGRESS_INTERVAL`` seconds if set), adds up
  every process's lines and prints one line per stage that moved::

    [0:01:05] basic        12.3k docs    45.6 MB   3.4 MB/s  ETA 0:02:10

The rate is over the last interval, not the whole run. The ETA needs the
number of input documents, which the reporter counts in the background
(parquet footers, jsonl lines); a later stage expects the input minus what
earlier stages removed so far, pro rata. So in-process and multi-process runs
print the same lines. Only local runs report (``pipeline.runners.reports_progress``);
``STACKCURATE_PROGRESS=0`` switches it off (``=1`` forces it on).
:func:`progress_bar` gives other commands the same on/off rule around ``tqdm``.
"""

from __future__ import annotations

import atexit
import gzip
import itertools
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import IO, TypeVar

ENV_SWITCH = "STACKCURATE_PROGRESS"
ENV_INTERVAL = "STACKCURATE_PROGRESS_INTERVAL"
ENV_SPOOL = "STACKCURATE_PROGRESS_SPOOL"
TERMINAL_INTERVAL_S = 10.0
LOG_INTERVAL_S = 30.0
T = TypeVar("T")
Counts = dict[str, list[int]]  # stage -> [docs, content bytes, removed]
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
    """Seconds between reports: ``STACKCURATE_PROGRESS_INTERVAL``, else often enough to watch on a
    terminal and sparse enough for a log file."""
    given = os.environ.get(ENV_INTERVAL, "").strip()
    if given:
        try:
            seconds = float(given)
        except ValueError:
            raise SystemExit(f"{ENV_INTERVAL}={given!r}: not a number of seconds") from None
        if seconds > 0:
            return seconds
        raise SystemExit(f"{ENV_INTERVAL}={given!r}: must be more than 0 seconds")
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


# --- workers: count -----------------------------------------------------------------------------------


class SpoolWriter:
    """This process's side of the spool: while ``STACKCURATE_PROGRESS_SPOOL`` names one, each call is a line
    appended to ``SPOOL/<pid>.tsv``; without one (remote runners, progress off) a call does nothing."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spool: str | None = None
        self._fd: int | None = None

    def add(self, stage: str, docs: int, nbytes: int, removed: int) -> None:
        spool = os.environ.get(ENV_SPOOL) or None
        with self._lock:
            if spool != self._spool:  # a new run (or the first): its own file
                self._switch(spool)
            if self._fd is not None:
                os.write(self._fd, f"{stage}\t{docs}\t{nbytes}\t{removed}\n".encode())

    def _switch(self, spool: str | None) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._spool = spool
        # no folder: a late worker of a finished run, whose lines nobody would read
        if spool is not None and os.path.isdir(spool):
            path = os.path.join(spool, f"{os.getpid()}.tsv")
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)


_writer = SpoolWriter()


def record(stage: str, docs: int = 0, nbytes: int = 0, removed: int = 0) -> None:
    """Count ``docs`` documents (``nbytes`` content bytes) reaching ``stage`` and ``removed`` it removed."""
    _writer.add(stage, docs, nbytes, removed)


def read_spool(spool: str, offsets: dict[str, int], counts: Counts) -> None:
    """Add the complete lines written to ``spool`` since ``offsets`` (per file; updated) to ``counts``."""
    try:
        names = sorted(os.listdir(spool))
    except FileNotFoundError:
        return
    for name in names:
        path = os.path.join(spool, name)
        with open(path, "rb") as handle:
            handle.seek(offsets.get(name, 0))
            data = handle.read()
        end = data.rfind(b"\n") + 1  # a line being written stays for the next read
        offsets[name] = offsets.get(name, 0) + end
        for line in data[:end].decode().splitlines():
            stage, docs, nbytes, removed = line.split("\t")
            entry = counts.setdefault(stage, [0, 0, 0])
            for i, n in enumerate((docs, nbytes, removed)):
                entry[i] += int(n)


# --- the launcher: report -----------------------------------------------------------------------------


class StageProgress:
    """Per-stage totals and the lines they make; :meth:`expect` also owns the spool the workers write to."""

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
        self.spool: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.reset()

    def reset(self, order: Sequence[str] = (), total_docs: int | None = None) -> None:
        """Start a new run: forget the counts; ``order`` is the stages' pipeline order."""
        self._start = self._last = self._clock()
        self.order = list(order)
        self.total_docs = total_docs
        self.docs: dict[str, int] = {}
        self.bytes: dict[str, int] = {}
        self.removed: dict[str, int] = {}
        self._offsets: dict[str, int] = {}
        self._counts: Counts = {}
        self._reported: dict[str, tuple[float, int, int]] = {}  # stage -> (time, docs, bytes) at its line

    def expect(self, order: Sequence[str], files: Sequence[str]) -> None:
        """A new run of these stages over these files: a fresh spool (in ``STACKCURATE_PROGRESS_SPOOL`` for
        the workers Beam starts later), the input counted in the background, a report every interval."""
        self.close()
        self.reset(order)
        if not self.enabled:
            return
        self.spool = tempfile.mkdtemp(prefix="stackcurate-progress-")
        os.environ[ENV_SPOOL] = self.spool
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="progress-report")
        self._thread.start()
        if files:
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

    def _loop(self) -> None:
        stop = self._stop
        while not stop.wait(self.interval_s):
            self.poll()

    def poll(self) -> None:
        """Add up what the workers wrote to the spool so far and print the lines of the stages that moved."""
        with self._lock:
            if self.spool is not None:
                read_spool(self.spool, self._offsets, self._counts)
            self.update(self._counts)
            for line in self.lines():
                self._write(line)

    def update(self, counts: Counts) -> None:
        """The run's totals so far: stage -> [docs, content bytes, removed]."""
        for stage, (docs, nbytes, removed) in counts.items():
            if docs:
                self.docs[stage], self.bytes[stage] = docs, nbytes
                self._reported.setdefault(stage, (self._last, 0, 0))  # a new stage: since the last report
            if removed:
                self.removed[stage] = removed

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
        self._last = now
        return out

    def close(self) -> None:
        """The run is over: stop reporting and remove the spool (the totals stay readable until the next run)."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
        with self._lock:
            if self.spool is not None:
                read_spool(self.spool, self._offsets, self._counts)
                self.update(self._counts)
                if os.environ.get(ENV_SPOOL) == self.spool:
                    del os.environ[ENV_SPOOL]
                shutil.rmtree(self.spool, ignore_errors=True)
                self.spool = None

    def _write(self, text: str) -> None:
        stream = self._stream if self._stream is not None else sys.stderr
        print(text, file=stream, flush=True)


_shared: StageProgress | None = None
_shared_lock = threading.Lock()


def shared_progress() -> StageProgress:
    """The launcher's one reporter (the spool of the run in progress)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = StageProgress()
            atexit.register(_shared.close)
        return _shared


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
