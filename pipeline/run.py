"""``python -m pipeline.run``: read, run the enabled stages in order, write data, ledger and stats.

Locally (no ``--runner``) it uses Beam's FnApiRunner on both cores, which
never downloads anything; with ``--runner=DataflowRunner`` (or any portable
runner) the same graph runs at scale.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from pipeline import stats as stats_mod
from pipeline.config import RunConfig, resolve
from pipeline.inputs import ReadStack, input_schema, list_inputs
from pipeline.options import CurateOptions, parse
from pipeline.outputs import LEDGER_SCHEMA, MODIFIED_SCHEMA, WriteSharded, data_schema, join
from pipeline.progress import CountProgress, progress_enabled, shared_progress
from pipeline.stages import load_spec
from pipeline.stages.base import KEPT, MODIFIED, REMOVED, StageContext, content_bytes

log = logging.getLogger("stackcurate")
WORK_DIR = "_work"
OUTPUT_PARTS = ("data", "removed", "modified", WORK_DIR, "stats.json", "report.html", "README.md")


@dataclass
class Plan:
    """Everything decided before the graph is built."""

    options: PipelineOptions
    config: RunConfig
    files: list[str]
    output: str
    context: StageContext
    argv: list[str] = field(default_factory=list)


def make_plan(argv: list[str]) -> Plan:
    options = parse(argv)
    curate = options.view_as(CurateOptions)
    only = [s.strip() for s in curate.stages.split(",") if s.strip()] if curate.stages else None
    config = resolve(curate.preset, curate.config, only_stages=only)
    _advise_remote_decontam(options, config, curate.benchmarks_dir)
    files = list_inputs(curate.input)
    temp = options.view_as(beam.options.pipeline_options.GoogleCloudOptions).temp_location
    context = StageContext(
        benchmarks_dir=curate.benchmarks_dir,
        optout_list=curate.optout_list,
        tokenizer=curate.tokenizer,
        temp_dir=temp or join(curate.output, WORK_DIR, "tmp"),
    )
    return Plan(options, config, files, curate.output.rstrip("/"), context, list(argv))


def _advise_remote_decontam(options: PipelineOptions, config: RunConfig, benchmarks_dir: str | None) -> None:
    """On Dataflow, Hub benchmarks mean every worker downloads them (GBs): say how to avoid it."""
    decontam = config.stages.get("decontam")
    on_dataflow = "Dataflow" in str(options.view_as(StandardOptions).runner or "")
    if (
        on_dataflow
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


def _write_text(path: str, text: str) -> str:
    with FileSystems.create(path) as handle:
        handle.write(text.encode())
    return path


def _read_text(path: str) -> str:
    with FileSystems.open(path, compression_type="uncompressed") as handle:
        return handle.read().decode()


def clean_output(output: str) -> None:
    """Remove what an earlier run wrote here (only our own files and folders)."""
    for part in OUTPUT_PARTS:
        path = join(output, part)
        if FileSystems.exists(path):
            FileSystems.delete([path])


def build(p: beam.Pipeline, plan: Plan) -> None:
    """Wire reading, the enabled stages, the writers and the counters into ``p``."""
    schema = input_schema(plan.files)
    docs = p | "Read" >> ReadStack(plan.files)
    work = join(plan.output, WORK_DIR)
    _ = (
        docs
        | "InputDigest" >> stats_mod.InputDigest()
        | "WriteDigest" >> beam.Map(lambda text: _write_text(join(work, "digest.txt"), text))
    )
    counts, removed, modified, columns = [], [], [], {}
    show_progress = plan.options.view_as(StandardOptions).runner is None and progress_enabled()
    for name in plan.config.enabled:
        spec = load_spec(name)
        if show_progress:
            docs = docs | f"Progress_{name}" >> CountProgress(name)
        columns.update(spec.columns)
        result = docs | f"Stage_{name}" >> spec.build(plan.config.stages[name], plan.context)
        if name == plan.config.enabled[0]:  # later stages' input is the previous output (stats.assemble)
            counts.append(docs | f"CountIn_{name}" >> beam.Map(stats_mod.doc_count_key(name, "in")))
        counts.append(result[KEPT] | f"CountOut_{name}" >> beam.Map(stats_mod.doc_count_key(name, "out")))
        counts.append(result[REMOVED] | f"CountRemoved_{name}" >> beam.Map(stats_mod.removed_count_key(name)))
        removed.append(result[REMOVED])
        if result.get(MODIFIED) is not None:
            modified.append(result[MODIFIED])
            counts.append(
                result[MODIFIED] | f"CountModified_{name}" >> beam.Map(stats_mod.modified_count_key(name))
            )
        docs = result[KEPT]

    target = int(plan.config.output.shard_target_mb * 1e6)
    _ = docs | "WriteData" >> WriteSharded(
        join(plan.output, "data"),
        data_schema(schema, columns),
        lambda d: d["lang"],
        content_bytes,
        target,
        "train",
    )
    ledger_rows = plan.config.output.ledger_shard_rows
    for folder, schema_, rows, required in (
        ("removed", LEDGER_SCHEMA, removed, plan.config.enabled),
        ("modified", MODIFIED_SCHEMA, modified, ()),
    ):
        if rows:
            writer = WriteSharded(
                join(plan.output, folder),
                schema_,
                lambda r: r["stage"],
                lambda r: 1,
                ledger_rows,
                "part",
                required,
            )
            _ = rows | f"All_{folder}" >> beam.Flatten() | f"Write_{folder}" >> writer
    if counts:
        _ = (
            counts
            | "AllCounts" >> beam.Flatten()
            | "Counts" >> stats_mod.CombineCounts()
            | "WriteCounts" >> beam.Map(lambda text: _write_text(join(work, "counts.json"), text))
        )


def _cpu_seconds(result: Any, stages: list[str]) -> dict[str, float]:
    try:
        found = result.metrics().query(MetricsFilter().with_name("cpu_us"))["counters"]
    except Exception:  # noqa: BLE001 - some runners report no metrics; stats then omit cpu time
        return {}
    cpu: dict[str, float] = {}
    for counter in found:
        namespace = counter.key.metric.namespace
        if namespace in stages:
            value = counter.committed if counter.committed is not None else counter.attempted
            cpu[namespace] = cpu.get(namespace, 0.0) + (value or 0) / 1e6
    return cpu


def finish(plan: Plan, result: Any, wall: float) -> dict[str, Any]:
    """Turn the run's counts into ``stats.json`` and remove the work folder."""
    work = join(plan.output, WORK_DIR)
    counts = json.loads(_read_text(join(work, "counts.json"))) if plan.config.enabled else []
    digest = _read_text(join(work, "digest.txt"))
    stages = stats_mod.assemble(counts, plan.config.enabled)
    cpu = _cpu_seconds(result, plan.config.enabled)
    for stage in stages:
        stage["cpu_s"] = round(cpu.get(stage["name"], 0.0), 3)
    first = stages[0]["langs"].values() if stages else []
    stats = {
        "stages": stages,
        "input": {
            "paths": plan.files,
            "docs": sum(e["docs_in"] for e in first),
            "bytes": sum(e["bytes_in"] for e in first),
            "ids_digest": digest,
        },
        "output": {
            "docs": sum(e["docs_out"] for e in stages[-1]["langs"].values()) if stages else 0,
            "bytes": sum(e["bytes_out"] for e in stages[-1]["langs"].values()) if stages else 0,
        },
        "preset": plan.config.preset,
        "config": plan.config.to_dict(),
        "versions": stats_mod.versions(),
        "runner": str(plan.options.view_as(StandardOptions).runner or "FnApiRunner (local)"),
        "argv": plan.argv,
        "wall_time_s": round(wall, 2),
    }
    _write_text(join(plan.output, "stats.json"), json.dumps(stats, indent=2, sort_keys=False) + "\n")
    FileSystems.delete([work])
    return stats


def _runner(plan: Plan) -> Any:
    if plan.options.view_as(StandardOptions).runner is None:
        from apache_beam.runners.portability.fn_api_runner import FnApiRunner

        return FnApiRunner()
    return None


def run(argv: list[str]) -> dict[str, Any]:
    """Run the pipeline and return the stats (also written to ``OUT/stats.json``)."""
    plan = make_plan(argv)
    clean_output(plan.output)
    start = time.time()
    pipeline = beam.Pipeline(runner=_runner(plan), options=plan.options)
    build(pipeline, plan)
    result = pipeline.run()
    result.wait_until_finish()
    shared_progress().close()
    stats = finish(plan, result, time.time() - start)
    curate = plan.options.view_as(CurateOptions)
    if curate.tokenize_output:
        stats["tokenized"] = tokenize_data(
            plan.output, curate.tokenizer, curate.tokenize_output, curate.tokenize_per_lang
        )
    if not curate.no_report:
        _write_extras(plan.output)
    if curate.publish_repo:
        from pipeline.publish import publish

        publish(plan.output, curate.publish_repo)
    return stats


def tokenize_data(output: str, tokenizer: str | None, prefix: str, per_lang: bool) -> dict[str, Any]:
    """Megatron-format shards of the kept documents (``tokenizer.tokenize``), in file then row order."""
    if not tokenizer:
        raise SystemExit("pipeline.run: --tokenize_output needs --tokenizer")
    from tokenizer.tokenize import tokenize_to_indexed

    files = sorted(
        m.path for m in FileSystems.match([join(output, "data", "*", "*.parquet")])[0].metadata_list
    )
    return tokenize_to_indexed(files, tokenizer, prefix, per_lang=per_lang)


def _write_extras(output: str) -> None:
    """The human report and the Hub dataset card (local outputs only)."""
    if "://" in output:
        return
    try:
        from pipeline.card import write_card
        from pipeline.report import write_report
    except ImportError:  # the report and card modules are optional extras of the spine
        return
    write_card(output)
    write_report(output)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("apache_beam").setLevel(
        logging.ERROR
    )  # worker start-up chatter, not the user's business
    argv = list(sys.argv[1:] if argv is None else argv)
    from pipeline.publish import PublishRefused

    try:
        stats = run(argv)
    except PublishRefused as exc:
        print(f"pipeline.run: publishing refused: {exc}", file=sys.stderr)
        return 2
    if "--quiet" not in argv:
        print(stats_mod.summary_table(stats["stages"]))
        out = stats["output"]
        print(
            f"\n{stats['input']['docs']} docs in, {out['docs']} kept ({out['bytes'] / 1e6:.1f} MB) "
            f"in {stats['wall_time_s']:.1f}s"
        )
        output = parse(argv).view_as(CurateOptions).output.rstrip("/")
        print(f"output: {output}/data  ledger: {output}/removed  stats: {output}/stats.json")
        if "--no_report" not in argv:
            print(f"report: {output}/report.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
