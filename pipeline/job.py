"""One curation job: plan it, build the graph, run it, finish the output. ``pipeline.run`` is its command
(which forks the warm workers' parent before this module, and Beam with it, is imported)."""

from __future__ import annotations

import contextlib
import io
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline import finish as finish_mod
from pipeline import graph, runners, store, warm_workers
from pipeline import stats as stats_mod
from pipeline.collector import paused
from pipeline.config import RunConfig, resolve
from pipeline.inputs import describe_inputs, list_input_sizes
from pipeline.judging import CPU_US
from pipeline.judging_process import set_up_judging_process
from pipeline.options import CurateOptions, parse
from pipeline.outputs import join
from pipeline.progress import shared_progress
from pipeline.stages import load_spec
from pipeline.stages.base import StageContext

log = logging.getLogger("stackcurate")
WORK_DIR = finish_mod.WORK_DIR


@dataclass
class Plan:
    """Everything decided before the graph is built."""

    options: PipelineOptions
    config: RunConfig
    files: list[str]
    output: str
    context: StageContext
    argv: list[str] = field(default_factory=list)
    input_summary: dict[str, Any] = field(default_factory=dict)
    parts_root: str = ""  # where data/, removed/, modified/ are written: output, or its staging folder

    def __post_init__(self) -> None:
        self.parts_root = self.parts_root or self.output


def make_plan(argv: list[str]) -> Plan:
    options = parse(argv)
    store.configure(options)  # object-store options (S3 endpoint, keys) before the first listing
    curate = options.view_as(CurateOptions)
    config = _run_config(curate)
    _advise_remote_decontam(options, config, curate.benchmarks_dir)
    sizes = list_input_sizes(curate.input)
    runners.choose_local_workers(options, argv, sum(sizes.values()))
    files = list(sizes)
    temp = options.view_as(beam.options.pipeline_options.GoogleCloudOptions).temp_location
    context = StageContext(
        benchmarks_dir=curate.benchmarks_dir,
        optout_list=curate.optout_list,
        tokenizer=curate.tokenizer,
        temp_dir=temp or join(curate.output, WORK_DIR, "tmp"),
    )
    return Plan(
        options,
        config,
        files,
        curate.output.rstrip("/"),
        context,
        list(argv),
        describe_inputs(curate.input, sizes),
    )


def _advise_remote_decontam(options: PipelineOptions, config: RunConfig, benchmarks_dir: str | None) -> None:
    """On Dataflow, Hub benchmarks mean every worker downloads them (GBs): say how to avoid it."""
    decontam = config.stages.get("decontam")
    if (
        runners.is_dataflow(options)
        and decontam is not None
        and decontam.enabled
        and not benchmarks_dir
        and decontam.source == "hub"
    ):
        log.warning(
            "decontam: source is the Hub, so every Dataflow worker downloads the benchmarks in setup "
            "(APPS's test split is 1.3 GB); prepare the strings once with python -m pipeline.prepare_decontam "
            "and set stages.decontam.source to the file (docs/dataflow.md)"
        )


def _run_config(curate: CurateOptions) -> RunConfig:
    only = [s.strip() for s in curate.stages.split(",") if s.strip()] if curate.stages else None
    return resolve(curate.preset, curate.config, only_stages=only)


def setups_of_argv(argv: list[str]) -> list[Any]:
    """:func:`setups_on_node` of the run ``argv`` describes, from its configuration alone (no input is
    listed): what an early zygote starts before the launcher has planned. [] where ``argv`` does not
    parse; the launcher reports that (here argparse's usage text is silenced: it would print twice)."""
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            options = parse(argv)
    except SystemExit:
        return []
    return setups_on_node(_run_config(options.view_as(CurateOptions)))


def setups_on_node(config: RunConfig) -> list[Any]:
    """The enabled stages' ``setup_on_node`` (each once), in stage order."""
    found: list[Any] = []
    for name in config.enabled:
        setup = load_spec(name).setup_on_node
        if setup is not None and setup not in found:
            found.append(setup)
    return found


def build(p: beam.Pipeline, plan: Plan) -> None:
    """Wire reading, the enabled stages, the writers and the counters into ``p`` (``pipeline.graph``)."""
    graph.build(p, plan)


def _cpu_seconds(result: Any, stages: list[str]) -> dict[str, float] | None:
    """CPU seconds per stage from the job's counters; None where the runner reports no metrics."""
    try:
        found = result.metrics().query(MetricsFilter().with_name(CPU_US))["counters"]
    except NotImplementedError:  # e.g. a portable runner without a metrics service
        log.warning("this runner reports no metrics: stats.json has no CPU seconds per stage")
        return None
    cpu: dict[str, float] = {}
    for counter in found:
        namespace = counter.key.metric.namespace
        if namespace in stages:
            value = counter.committed if counter.committed is not None else counter.attempted
            cpu[namespace] = cpu.get(namespace, 0.0) + (value or 0) / 1e6
    return cpu


def plan_record(plan: Plan) -> dict[str, Any]:
    """What ``pipeline.finish`` needs to write stats.json without the launcher (``_work/plan.json``)."""
    return {
        "output": plan.output,
        "enabled": plan.config.enabled,
        "preset": plan.config.preset,
        "config": plan.config.to_dict(),
        "versions": stats_mod.versions(),
        "runner": runners.describe(plan.options),
        "argv": finish_mod.public_argv(plan.argv),
        "input": plan.input_summary,
    }


def _warm_pool(plan: Plan, early: warm_workers.WarmWorkers | None) -> warm_workers.WarmWorkers | None:
    """This run's warm workers, told the set-up that needs no graph: ``early`` if it guessed the count
    right, else a zygote forked now; None for a run without local worker processes."""
    forks = runners.local_worker_processes(plan.options) if warm_workers.usable() else 0
    pool = early if early is not None and early.count == forks else None
    if early is not None and pool is None:
        early.close()
    if forks and pool is None:
        pool = warm_workers.WarmWorkers(forks)
    if pool is not None:
        pool.set_up(setups_on_node(plan.config))
    return pool


def _runner(plan: Plan) -> Any:
    return runners.make_runner(plan.options)


def run(argv: list[str], early: warm_workers.WarmWorkers | None = None) -> dict[str, Any]:
    """Run the pipeline and return the stats (also written to ``OUT/stats.json``); ``early``: warm
    workers forked before Beam was imported (``pipeline.run``), used if the plan wants as many.

    The parts are written in place, or next to an earlier finished output that they replace only
    once complete (``pipeline.finish``); so an interrupted re-run never destroys a good output.
    """
    set_up_judging_process()  # documents are judged in this process (one worker) or in forks of it
    with paused():  # planning and the graph allocate what the run keeps: no collections (pipeline.collector)
        plan = make_plan(argv)
        curate = plan.options.view_as(CurateOptions)
        if curate.tokenize_output and not curate.tokenizer:
            raise SystemExit("pipeline.run: --tokenize_output needs --tokenizer")
        plan.parts_root = finish_mod.parts_root(plan.output)
        start = time.time()
        pool = _warm_pool(plan, early)  # sets up while the graph is built (pipeline.warm_workers)
    try:
        with paused():
            pipeline = beam.Pipeline(runner=_runner(plan), options=plan.options)
            build(pipeline, plan)  # a mistake found here leaves the output folder as it was
            finish_mod.start(plan.output, plan_record(plan), plan.parts_root)
            if plan.parts_root != plan.output:
                log.warning("%s holds a finished output: it is replaced when this run completes", plan.output)
            if pool is not None:
                pool.warm(warm_workers.warm_steps(pipeline))
        warm_workers.job_starting()
        result = pipeline.run()
        result.wait_until_finish()
    finally:
        shared_progress().close()  # stop reporting, remove the workers' spool (build() started them)
        if pool is not None:
            pool.close()
    stats = finish_mod.finish(
        plan.output,
        cpu=_cpu_seconds(result, plan.config.enabled),
        wall=time.time() - start,
        extras=not curate.no_report,
        repo_id=curate.publish_repo,
    )
    if curate.tokenize_output:
        stats["tokenized"] = tokenize_data(
            plan.output, curate.tokenizer, curate.tokenize_output, curate.tokenize_per_lang
        )
    if curate.publish_repo:
        from release.publish import publish

        publish(plan.output, curate.publish_repo)
    return stats


def tokenize_data(output: str, tokenizer: str, prefix: str, per_lang: bool) -> dict[str, Any]:
    """Megatron-format shards of the kept documents (``tokenizer.tokenize``), in file then row order.

    The output and the shard prefix may be on an object store: remote data files are copied to a
    scratch folder (all of them, before tokenizing) and the shards are written there, then uploaded.
    """
    import tempfile
    from pathlib import Path

    from tokenizer.tokenize import tokenize_to_indexed

    files = store.list_files(join(output, "data"), ".parquet")
    with tempfile.TemporaryDirectory(prefix="stackcurate-tokenize-") as scratch:
        local_files = [
            store.download(f, Path(scratch, "data", store.relative(f, join(output, "data"))))
            if store.is_remote(f)
            else Path(f)
            for f in files
        ]
        local_prefix = str(Path(scratch, "shards", "tokens")) if store.is_remote(prefix) else prefix
        stats = tokenize_to_indexed(local_files, tokenizer, local_prefix, per_lang=per_lang)
        if store.is_remote(prefix):
            for entry in stats.values():
                remote = prefix + entry["prefix"][len(local_prefix) :]
                for suffix in (".bin", ".idx"):
                    store.upload(Path(entry["prefix"] + suffix), remote + suffix)
                entry["prefix"] = remote
    return stats
