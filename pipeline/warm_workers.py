"""Local worker processes forked from the launcher, their judges already set up when Beam starts them.

Why: a fresh worker process imports Beam (~1.6 CPU-s) and sets up every judge it runs (Presidio, the
decontamination automaton, compiled kernels, parsers: ~2-4 CPU-s for santacoder), one after the other,
after the launcher has done the same imports. On a 2-core laptop that start-up is what keeps two workers
from halving the wall time. A fork of the launcher (the *zygote*) sets up once, on the other core, while
the launcher imports Beam, plans and builds the graph:

0. it is forked first thing, before the launcher imports Beam (:func:`forks_wanted` guesses from the
   command line alone whether the run will want forks; ``pipeline.run``), and imports what the workers
   need (``preload``) while the launcher imports the same;
1. then what needs no graph, the enabled stages' ``setup_on_node`` (``pipeline.stages.base.StageSpec``:
   Presidio's engine, the MinHash kernels), sent once the run is planned (:meth:`WarmWorkers.set_up`);
2. then the graph's steps (:meth:`WarmWorkers.warm`: their ``warm()``), sent once the graph is built;
3. then it forks one process per worker, set up at no further cost (copy-on-write).

Beam's workers find them set up: a judge's state is kept per process under a ``Shared`` key that the
graph's pickled copies carry (``pipeline.judging``). One set-up instead of one per worker saves ~2 CPU-s a
worker on santacoder (mostly Presidio), and starting it before the graph exists means Beam's first
stage waits less for it. At 200 MB it waited ~1.2 s when the zygote was forked after the build, 0.6-0.7 s
when forked after planning (its imports were the launcher's, but its set-up, ~2.2 s, outlasted the
build), ~0.2 s in most runs now (0; up to ~1 s when this shared machine is busy: both cores are then
taken by the launcher's and the zygote's imports). A guess the plan contradicts (another worker count) is
dropped and a zygote is forked as in 1.

How Beam reaches them: FnApiRunner starts each local worker with a shell command
(``pipeline.runners.worker_command``). While a pool is open, that command is ``pipeline.worker_client``: a
small process that claims one waiting fork, hands it its environment (Beam's control and logging
addresses, the job's options), and exits with the fork's exit status. Without a free fork (more workers
than forks, or none made) it becomes a fresh worker as before.

A fork leaves Ctrl-C to the launcher (which prints one line and ends the job) and dies with it, as a fresh
worker does; it carries on through the signal with its logging off, as the launcher's is, so that a bundle
the launcher abandons prints no traceback (:func:`_quiet_on_interrupt`).

This module imports nothing heavy (Beam only inside functions): the launcher forks before it imports Beam.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from cli.command import asks_for_help
from pipeline import cores
from pipeline.collector import paused
from pipeline.worker_client import ENV_POOL, STATUS, die_with_parent, recv_all

NODE_FILE = "node.pickle"  # the set-up that needs no graph (set_up), in the pool folder, for the zygote
WARM_FILE = "warm.pickle"  # the graph's set-up (warm), in the pool folder, for the zygote
# Linux only: macOS's system libraries are not safe in a fork of a process that has started threads (the
# launcher has: progress), so there every worker starts fresh, as Python's multiprocessing does there.
SUPPORTED = sys.platform.startswith("linux")
# Forks are made only before this process runs its first job: after one, Beam's threads (its shared thread
# pool's idle workers) and gRPC state would be copied into a fork without the threads behind them, and a
# fork then waits forever for work it was handed (seen in the test suite, which runs many jobs per process).
_JOB_RAN = False
# Input bytes (files as stored) from which a local run uses every core when its workers start fresh (no
# fork of the launcher: not Linux, or a later job of the same process). Measured with the santacoder preset
# on a shared 2-core machine (see pipeline.runners.choose_local_workers).
MULTI_PROCESS_FROM_BYTES = 16_000_000


def usable() -> bool:
    """Whether this process may fork warm workers now (Linux, and no job has run in it yet)."""
    return SUPPORTED and not _JOB_RAN


def job_starting() -> None:
    """This process starts a job: later jobs in it get fresh workers."""
    global _JOB_RAN
    _JOB_RAN = True


class WarmWorkers:
    """``count`` worker processes, each waiting for one worker command, forked from one process (the
    zygote, ``self.zygote``), forked now: it runs ``preload``, then what :meth:`set_up` and :meth:`warm`
    send, then forks the workers."""

    def __init__(
        self, count: int, work: Callable[[], int] | None = None, preload: Callable[[], Any] | None = None
    ):
        self.count = count
        self.folder = tempfile.mkdtemp(prefix="stackcurate-workers-")
        listeners = []
        for index in range(count):
            # Linux's abstract socket names: no file, so no limit from a long TMPDIR (a path is 107 bytes at most)
            name = f"stackcurate-{os.getpid()}-{secrets.token_hex(6)}-{index}"
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind("\0" + name)
            listener.listen(1)  # a worker command that connects before its worker is forked waits
            with open(os.path.join(self.folder, f"{index}.slot"), "w") as slot:
                slot.write(name)
            listeners.append(listener)
        orders, self._orders = os.pipe()  # a byte on it: the next set-up is in its file; closed: no more
        sys.stdout.flush()
        sys.stderr.flush()
        self.zygote = os.fork()
        if self.zygote == 0:  # never returns
            os.close(self._orders)
            _zygote(listeners, preload, orders, self.folder, work or _run_worker)
        os.close(orders)
        for listener in listeners:
            listener.close()
        os.environ[ENV_POOL] = self.folder

    def set_up(self, on_node: Sequence[Callable[[], Any]]) -> None:
        """Have the zygote run ``on_node`` (what needs no graph), each once, in order; before :meth:`warm`."""
        self._send(NODE_FILE, b"n", list(on_node))

    def warm(self, warm: Callable[[], Any]) -> None:
        """Have the zygote run ``warm`` (the graph's set-up), then fork the workers; the last order."""
        self._send(WARM_FILE, b"w", warm)

    def _send(self, name: str, byte: bytes, what: Any) -> None:
        """``what`` pickled with Beam's pickler into a file, then one byte on the pipe: the launcher never
        waits for a zygote still busy with an earlier step (a pipe holds 64 KB; a file any size). zlib, not
        the pickler's default bz2 (level 9): the graph's steps are ~0.5 MB (the decontamination strings),
        42 ms to write and 18 to read with bz2, 16 and 3 with zlib, both on the first stage's path."""
        from apache_beam.internal import pickler

        path = os.path.join(self.folder, name)
        with open(path + ".part", "wb") as out:
            out.write(pickler.dumps(what, use_zlib=True))
        os.rename(path + ".part", path)
        if self._orders is not None:
            try:
                os.write(self._orders, byte)
            except BrokenPipeError:  # the zygote is gone: Beam's workers then start fresh
                self._close_orders()

    def _close_orders(self) -> None:
        if self._orders is not None:
            os.close(self._orders)
            self._orders = None

    def close(self) -> None:
        """No more claims; workers nobody claimed are stopped (claimed ones end with Beam's job): the
        zygote is, and its workers die with it. Closing twice is harmless."""
        self._close_orders()
        if os.environ.get(ENV_POOL) == self.folder:
            del os.environ[ENV_POOL]
        shutil.rmtree(self.folder, ignore_errors=True)
        try:
            done, _ = os.waitpid(self.zygote, os.WNOHANG)
            if not done:
                os.kill(self.zygote, signal.SIGKILL)
                os.waitpid(self.zygote, 0)
        except ChildProcessError:  # already reaped
            pass

    def __enter__(self) -> WarmWorkers:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def forks_wanted(argv: Sequence[str]) -> int:
    """The warm workers a local run of ``argv`` will want, guessed from the command line alone, before
    Beam is imported (0: none, or not sure), by the rules ``pipeline.runners`` then applies to the parsed
    options (:func:`local_workers`, :func:`worker_processes`); a guess the plan contradicts is dropped, so
    it costs at most a zygote killed early. Only the plain case is guessed: no ``--runner`` (a local run),
    no help."""
    if not usable() or asks_for_help(argv, beam=True):
        return 0
    given = flag_values(argv, ("runner", "direct_num_workers", "direct_running_mode"))
    if "runner" in given:
        return 0
    try:
        count = int(given["direct_num_workers"]) if "direct_num_workers" in given else None
    except ValueError:  # the run's own parsing says what is wrong
        return 0
    limit = cores.worker_limit()
    count, mode = local_workers(count, given.get("direct_running_mode"), limit, every_core=True)
    return worker_processes(count, mode, limit)


def local_workers(count: int | None, mode: str | None, limit: int, every_core: bool) -> tuple[int, str]:
    """A local run's worker count and running mode from what the user gave (None: not given): a mode
    alone gives one worker in memory, every core otherwise; neither gives every core if ``every_core``,
    else one; the mode follows the count (one worker runs in process, several in processes). "Every
    core" is ``limit`` workers (``pipeline.cores.worker_limit``: the cores, capped by the memory).
    ``pipeline.runners.choose_local_workers`` says when every core pays and why."""
    if count is None:
        count = (1 if mode == "in_memory" else limit) if mode else (limit if every_core else 1)
    elif count == 0 and mode == "multi_processing":  # Beam's "one per core" counts the host's cores
        count = limit
    return count, mode or ("multi_processing" if count > 1 else "in_memory")


def worker_processes(count: int | None, mode: str, limit: int) -> int:
    """The worker processes a local run with this count and mode starts (0: it runs in this process);
    ``limit`` as in :func:`local_workers`."""
    if mode != "multi_processing":
        return 0
    return limit if count == 0 else count or 1  # 0: Beam's spelling of "one per core"


def flag_values(argv: Sequence[str], names: Sequence[str]) -> dict[str, str]:
    """``--name value`` and ``--name=value`` (or the dashed spelling, ``--na-me``, that the command line
    also takes) for each of ``names`` that ``argv`` gives; the last wins."""
    found: dict[str, str] = {}
    for k, arg in enumerate(argv):
        if not arg.startswith("--"):
            continue
        flag, equals, value = arg.partition("=")
        name = flag[2:].replace("-", "_")
        if name in names and (equals or k + 1 < len(argv)):
            found[name] = value if equals else argv[k + 1]
    return found


def _set_up(step: Callable[[], Any]) -> Any:
    """Run one set-up step in the zygote. One that fails leaves cold workers: Beam's own set-up in the
    worker then runs it again and fails with the error, as in a fresh worker."""
    try:
        return step()
    except Exception:  # noqa: BLE001 - reported by the worker's own set-up (see above)
        return None


def _quiet_on_interrupt(signum: int, frame: Any) -> None:
    """The zygote's and its workers' Ctrl-C: carry on (the launcher ends the job and then them) without
    logging, as the launcher does (``cli.command``): a bundle the launcher abandons must not print a traceback."""
    logging.disable(logging.CRITICAL)


def _zygote(
    listeners: list[socket.socket],
    preload: Callable[[], Any] | None,
    orders: int,
    folder: str,
    work: Callable[[], int],
) -> None:
    """Set up once (imports, what needs no graph, the graph's steps), fork one worker per listener, wait."""
    status = 1
    try:
        signal.signal(signal.SIGINT, _quiet_on_interrupt)
        die_with_parent()
        # Everything set up here lives as long as the workers; frozen as the pause ends (pipeline.collector):
        # out of the workers' collections (fewer copied pages, less GC), and no collection before the forks.
        with paused(keep=True):
            held = [_set_up(preload)] if preload is not None else []  # held until the workers exit
            _fresh_thread_pool()
            ordered = False
            while order := os.read(orders, 1):
                ordered = True
                if order == b"n":  # the run is planned: what needs no graph
                    held += [_set_up(step) for step in _load(os.path.join(folder, NODE_FILE))]
                else:  # the graph is built: its steps, the last order
                    held.append(_set_up(lambda: _load(os.path.join(folder, WARM_FILE))()))
                    break
            os.close(orders)
        if not ordered:  # dropped before any order (another worker count, or a failed plan): no workers
            status = 0
            return
        workers = []
        for listener in listeners:
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:  # never returns
                for other in listeners:
                    if other is not listener:
                        other.close()
                _serve(listener, work)
            workers.append(pid)
        for listener in listeners:
            listener.close()
        for pid in workers:
            os.waitpid(pid, 0)
        del held  # Shared's references are weak: held until here
        status = 0
    except BaseException:
        traceback.print_exc()
        raise
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)  # never the launcher's atexit handlers or finally blocks


def _load(path: str) -> Any:
    from apache_beam.internal import pickler

    with open(path, "rb") as handle:
        return pickler.loads(handle.read(), use_zlib=True)


def _serve(listener: socket.socket, work: Callable[[], int]) -> None:
    """A worker's life: wait for the worker command, become Beam's worker, report its status.

    The command's connection is closed last, after any traceback is out: the command exits as soon as it
    closes, and what started it (Beam, a test) must find the reason already written."""
    status, conn = 1, None
    try:
        die_with_parent()  # with the zygote, which the launcher stops at the end of the job
        _fresh_thread_pool()
        conn, _ = listener.accept()
        listener.close()
        environment = json.loads(recv_all(conn))
        os.environ.clear()
        os.environ.update(environment)
        status = work()
        conn.sendall(STATUS.pack(status))
    except BaseException:
        traceback.print_exc()  # os._exit below would drop it: a failing worker must say why, as a fresh one does
        raise
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        if conn is not None:
            conn.close()
        os._exit(status)


def _fresh_thread_pool() -> None:
    """Beam's shared thread pool as a new process has it: idle threads listed by the parent do not exist here."""
    from apache_beam.utils import thread_pool_executor

    thread_pool_executor.shared_unbounded_instance().__init__()


def _run_worker() -> int:
    """Beam's SDK harness in this process (its control address and options come in the environment), the
    process set as the launcher is (``pipeline.judging_process``: a fork has it already, a fresh worker,
    e.g. on macOS, not)."""
    from pipeline.worker_imports import import_worker_beam

    with paused(keep=True):  # a fresh worker's start-up (a fork has done it), kept for good
        import_worker_beam()
        from apache_beam.runners.worker import sdk_worker_main

        from pipeline.judging_process import set_up_judging_process

        set_up_judging_process()
    try:
        sdk_worker_main.main([])
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 1
    return 0


def fresh_worker_main() -> None:
    """A worker that no fork took: Beam's harness started here. ``pipeline.worker_client`` execs this after
    setting Ctrl-C ignored and death with the launcher: both survive ``exec``."""
    sys.exit(_run_worker())


def warm_steps(pipeline: Any) -> Callable[[], list[Any]]:
    """What the zygote runs once the graph exists: every step of ``pipeline`` that offers ``warm()``
    (``pipeline.judging.JudgeBatches``, ``Timed``) sets up, each step object pickled as Beam pickles it."""
    import apache_beam as beam

    found: list[Any] = []

    class Steps(beam.pipeline.PipelineVisitor):
        def visit_transform(self, node: Any) -> None:
            fn = getattr(node.transform, "fn", None)
            if callable(getattr(fn, "warm", None)):
                found.append(fn)

    pipeline.visit(Steps())
    return functools.partial(warm_all, found)


def warm_all(steps: Iterable[Any]) -> list[Any]:
    """Each step's ``warm()``, with Beam's worker harness imported first (what a worker imports anyway)."""
    from apache_beam.runners.worker import sdk_worker_main  # noqa: F401

    return [step.warm() for step in steps]
