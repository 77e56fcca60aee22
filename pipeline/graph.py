"""The pipeline graph, built from stage specs: documents flow as Arrow batches from reader to writer; only
small records are shuffled.

What moves where:

* **Read**: the input files are listed into units (parquet row groups, jsonl
  files), spread over workers (a shuffle of unit names), and each unit is read
  as bounded batches (``pipeline.batches``): pieces.
* **Per-document stages** (a spec with ``make_judge``, ``pipeline.judging``)
  turn a piece into the kept piece, ledger rows and counts, in the worker that
  read it.
* **Grouping stages** (a spec with ``verdicts``: exact and near dedup,
  ``pipeline.rejoin``) shuffle small records (content hash -> rank and
  position; band keys, ranks and shingle sets by id), and their verdicts meet
  the unit's delta (surviving rows, added columns) in one ``GroupByKey`` by
  unit; the unit is then re-read.
* **WriteData** (``pipeline.outputs``) encodes each last piece's rows as parquet
  fragments where the piece is, and each output shard (contiguous units of one
  language) is its fragments' row groups copied in order.

So document content crosses no shuffle at all: what crosses are unit names,
ranks, keys, ids, row positions, score columns, ledger rows, counts and
fragments' names (plus the new content of documents a stage rewrote, PII
redaction, to the next grouping stage's re-join if one follows it).

Before anything is wired, :func:`check_stages` checks the specs against the
input schema and the runner (a :class:`~pipeline.stages.base.ConfigError`
naming the stage).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
import pyarrow as pa

from pipeline import stats as stats_mod
from pipeline import store
from pipeline.batches import (
    Piece,
    Unit,
    content_sizes,
    list_all_units,
    read_unit,
)
from pipeline.finish import WORK_DIR
from pipeline.ids import digest_sum
from pipeline.inputs import input_schema
from pipeline.judging import COUNTS, JudgeStage
from pipeline.ledger_writer import LEDGER_SCHEMA, MODIFIED_SCHEMA, WriteSharded
from pipeline.outputs import ARROW_TYPES, WriteData, data_schema, join
from pipeline.progress import shared_progress
from pipeline.rejoin import Grouped
from pipeline.runners import LOCAL, reports_progress, runner_name, workers_run_here
from pipeline.stages import load_spec
from pipeline.stages.base import (
    JUDGE,
    KEPT,
    MODIFIED,
    REMOVED,
    ConfigError,
    StageConfig,
    StageContext,
    StageSpec,
)

log = logging.getLogger("stackcurate.graph")


class _ReadBatches(beam.DoFn):
    """Unit -> pieces; tagged counts: the ids digest's part per batch, the first stage's input counts."""

    def __init__(self, schema: pa.Schema, first_stage: str | None):
        self._schema = schema
        self._first = first_stage

    def process(self, unit: Unit) -> Iterator[Any]:
        for index, batch in enumerate(read_unit(unit, self._schema)):
            part = digest_sum(batch.column("id").to_pylist())
            yield beam.pvalue.TaggedOutput(COUNTS, (stats_mod.DIGEST_PART, part))
            if self._first is not None:
                langs = batch.column("lang").to_pylist()
                for pair in stats_mod.batch_counts(self._first, "in", langs, content_sizes(batch)):
                    yield beam.pvalue.TaggedOutput(COUNTS, pair)
            yield Piece(unit, index, batch)


class ReadPieces(beam.PTransform):
    """The job's start (an impulse) -> {kept: pieces, counts: pairs and the ids digest's parts} of the input
    files."""

    def __init__(self, files: list[str], schema: pa.Schema, first_stage: str | None):
        super().__init__()
        self._files = files
        self._schema = schema
        self._first = first_stage

    def expand(self, start: beam.PCollection) -> dict[str, beam.PCollection]:
        out = (
            start
            | "Units" >> beam.FlatMap(lambda _, files: list_all_units(files), self._files)
            | "Spread" >> beam.Reshuffle()
            | "Batches"
            >> beam.ParDo(_ReadBatches(self._schema, self._first))
            .with_output_types(Piece)
            .with_outputs(COUNTS, main=KEPT)
        )
        return {KEPT: out[KEPT], COUNTS: out[COUNTS]}


def stage_transform(
    spec: StageSpec, config: StageConfig, context: StageContext, schema: pa.Schema, progress: bool
) -> beam.PTransform:
    """One stage over pieces, as its spec declares it: {kept: pieces, removed, counts[, modified]}."""
    if spec.kind == JUDGE:
        transform = JudgeStage(spec.name, spec.make_judge(config, context), spec.columns, progress)
    else:
        verdicts = spec.verdicts(config, dataclasses.replace(context, input_schema=schema))
        transform = Grouped(spec.name, verdicts, schema, progress)
    accelerator = spec.resources(config).accelerator
    if accelerator:  # a composite's hints reach every step inside it
        transform = transform.with_resource_hints(accelerator=accelerator)
    return transform


def check_stages(stages: list[tuple[StageSpec, StageConfig]], schema: pa.Schema, p: beam.Pipeline) -> None:
    """What the specs declare, checked before the graph is wired: every column a stage needs comes from
    the input or an earlier stage, no score column is written by two stages (or has an unknown type),
    an accelerator is asked only where the runner can place it, local files only where workers run here.

    An accelerator on a runner that cannot place one is an error on a remote runner (its workers would
    run the model without one, for hours) and a warning on a local one (hints are ignored there; the
    stage uses this machine's accelerator when it has one).
    """
    available = set(schema.names)
    written: dict[str, str] = {}
    runner = runner_name(p.options)
    for spec, config in stages:
        missing = [name for name in spec.needs if name not in available]
        if missing:
            raise ConfigError(
                f"stage {spec.name}: needs column(s) {', '.join(missing)}, which neither the input "
                "nor an earlier stage provides"
            )
        for name, type_name in spec.columns.items():
            if type_name not in ARROW_TYPES:
                raise ConfigError(f"stage {spec.name}: column {name} has unknown type {type_name!r}")
            if name in written:
                raise ConfigError(
                    f"stage {spec.name}: writes column {name}, which stage {written[name]} writes too"
                )
            written[name] = spec.name
        available.update(spec.columns)
        resources = spec.resources(config)
        if resources.accelerator and runner != "dataflow":
            message = (
                f"stage {spec.name}: asks for accelerator {resources.accelerator!r}, which only Dataflow "
                f"places (a Beam resource hint); this runner ({runner or 'local'}) ignores it"
            )
            if runner is not None and runner not in LOCAL:
                raise ConfigError(
                    f"{message} and its workers would run the stage without one: run on Dataflow, or "
                    f"drop stages.{spec.name}.accelerator and give the workers accelerators yourself"
                )
            log.warning("%s: it runs on this machine's accelerator if there is one, else on CPU", message)
        here = [path for path in resources.local_paths if not store.is_remote(path) and os.path.exists(path)]
        if here and not workers_run_here(p):
            raise ConfigError(
                f"stage {spec.name}: {here[0]} is a folder on this machine, which this runner's workers "
                "cannot read; upload it (gcloud storage cp -r DIR gs://BUCKET/models/NAME, or to s3://) "
                "and set its config to that URL"
            )


def _ledger_group(row: dict, folder: str) -> tuple[str, dict]:
    return f"{folder}/{row['stage']}", row


def build(p: beam.Pipeline, plan: Any) -> None:
    """Wire reading, the enabled stages, the writers and the counters into ``p`` (``plan``: pipeline.job.Plan)."""
    schema = input_schema(plan.files)
    enabled = plan.config.enabled
    stages = [(load_spec(name), plan.config.stages[name]) for name in enabled]
    check_stages(stages, schema, p)
    progress = reports_progress(plan.options)
    if progress:  # ETA: the reporter counts the input documents in the background
        shared_progress().expect(enabled, plan.files)
    # One impulse for every step that needs a single element to start from (the file list, the ledger's
    # folders, the digest of no ids): they run as one Beam stage, not one each (~25-50 ms apiece locally).
    start = p | "Start" >> beam.Impulse()
    read = start | "Read" >> ReadPieces(plan.files, schema, enabled[0] if enabled else None)
    no_ids = start | "NoIds" >> beam.Map(lambda _: (stats_mod.DIGEST_PART, 0))  # so the totals always exist
    pieces, counts, removed, modified, columns = read[KEPT], [read[COUNTS], no_ids], [], [], {}
    for spec, cfg in stages:
        columns.update(spec.columns)
        out = pieces | f"Stage_{spec.name}" >> stage_transform(spec, cfg, plan.context, schema, progress)
        pieces = out[KEPT]
        counts.append(out[COUNTS])
        removed.append(out[REMOVED])
        if MODIFIED in out:
            modified.append(out[MODIFIED])
    work, root = join(plan.output, WORK_DIR), plan.parts_root
    target = int(plan.config.output.shard_target_mb * 1e6)
    data_writer = WriteData(join(root, "data"), data_schema(schema, columns), target, join(work, "fragments"))
    _ = pieces | "WriteData" >> data_writer
    if removed:  # removed/<stage>/ and modified/<stage>/: one writer, its groups keyed by folder and stage
        folders = [("removed", rows) for rows in removed] + [("modified", rows) for rows in modified]
        keyed = [
            rows | f"Ledger_{folder}_{number}" >> beam.Map(_ledger_group, folder)
            for number, (folder, rows) in enumerate(folders)
        ]
        required = [f"removed/{name}" for name in enabled]  # every stage's ledger folder, rows or not
        keyed.append(start | "LedgerFolders" >> beam.FlatMap(lambda _: [(group, None) for group in required]))
        writer = WriteSharded(
            root,
            {"removed": LEDGER_SCHEMA, "modified": MODIFIED_SCHEMA},
            lambda row: 1,
            plan.config.output.ledger_shard_rows,
            "part",
        )
        _ = keyed | "AllLedgers" >> beam.Flatten() | "WriteLedgers" >> writer
    _ = (
        counts
        | "AllCounts" >> beam.Flatten()
        | "Totals" >> stats_mod.CombineTotals()
        | "WriteTotals" >> beam.Map(_write_totals, work, bool(enabled))
    )


def _write_totals(totals: tuple[str, str], work: str, counted: bool) -> None:
    """``_work/digest.txt`` and, when stages ran, ``_work/counts.json`` (``pipeline.finish`` reads them)."""
    counts, digest = totals
    store.write_text(join(work, "digest.txt"), digest)
    if counted:
        store.write_text(join(work, "counts.json"), counts)
