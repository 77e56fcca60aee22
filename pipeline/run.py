"""``python -m pipeline.run``: read, run the enabled stages in order, write data, ledger and stats.

Locally (no ``--runner``) it uses Beam's FnApiRunner, on every core, which never
downloads anything (``pipeline.runners`` chooses); with ``--runner=DataflowRunner``
(or any portable runner) the same graph runs at scale. The job is ``pipeline.job``.

This entry imports nothing heavy before it has forked a local run's warm workers' parent
(``pipeline.warm_workers``): that process imports Beam and the judges on the other core while
this one imports the same, so Beam's first stage waits less for the workers.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from cli.command import asks_for_help
from pipeline import warm_workers
from pipeline.arguments import run_parser
from pipeline.collector import paused
from pipeline.judging_process import set_up_memory


def run(argv: list[str]) -> dict[str, Any]:
    """Run the pipeline and return the stats (also written to ``OUT/stats.json``): ``pipeline.job.run``."""
    with _early_workers(argv) as early:
        return _import_job(keep=False).run(argv, early)


def _import_job(keep: bool) -> ModuleType:
    """``pipeline.job``, and Beam with it, imported with the collector paused (``pipeline.collector``).
    ``keep``, for the command's own process: the first time, what the import made is frozen, so that no
    collection walks it, not even the one the pause would set off as it ends (~0.14 s). Never for a
    library caller (:func:`run`): every object of the caller's would be frozen with it."""
    with paused(keep=keep and "pipeline.job" not in sys.modules):
        from pipeline import job
    return job


@contextmanager
def _early_workers(argv: list[str]) -> Iterator[warm_workers.WarmWorkers | None]:
    """Warm workers forked now, before Beam is imported, if ``argv`` looks like a local multi-worker run
    (with the collector and malloc set as the job sets them, ``pipeline.judging_process.set_up_memory``)."""
    set_up_memory()
    count = warm_workers.forks_wanted(argv)
    pool = warm_workers.WarmWorkers(count, preload=functools.partial(_preload, argv)) if count else None
    try:
        yield pool
    finally:
        if pool is not None:
            pool.close()


def _preload(argv: list[str]) -> None:
    """What a worker imports (the job's modules, Beam with them, Beam's worker harness), then the set-up
    that needs no graph as ``argv``'s configuration enables it: the launcher sends the same list once it
    has planned, and each step runs once, so this only starts it sooner (Presidio's engine and the MinHash
    kernels, ~2 s: before, they started after the plan and outlasted the graph's build). Beam without
    what no worker runs (``pipeline.worker_imports``)."""
    from pipeline import worker_imports

    worker_imports.import_worker_beam()
    from pipeline import job

    for step in job.setups_of_argv(argv):
        step()  # the zygote runs this with the collector paused (pipeline.warm_workers)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("apache_beam").setLevel(
        logging.ERROR
    )  # worker start-up chatter, not the user's business
    argv = list(sys.argv[1:] if argv is None else argv)
    if asks_for_help(argv):  # answered before Beam is imported (~1.5 s): the text the run's parser prints
        run_parser().parse_args(["--help"])
    with _early_workers(argv) as early:
        job = _import_job(keep=True)
        from pipeline import stats as stats_mod
        from pipeline.options import CurateOptions, parse

        curate = parse(argv).view_as(CurateOptions)  # usage errors before any work (--help exits here)
        stats = job.run(argv, early)
    if not curate.quiet:
        print(stats_mod.summary_table(stats["stages"]))
        out = stats["output"]
        print(
            f"\n{stats['input']['docs']} docs in, {out['docs']} kept ({out['bytes'] / 1e6:.1f} MB) "
            f"in {stats['wall_time_s']:.1f}s"
        )
        output = curate.output.rstrip("/")
        print(f"output: {output}/data  ledger: {output}/removed  stats: {output}/stats.json")
        if not curate.no_report:
            print(f"report: {output}/report.html")
    return 0


if __name__ == "__main__":
    from cli.command import run_cli

    run_cli(main, "pipeline.run")
