"""The pipeline graph: documents flow as Arrow batches from reader to writer; only small records are shuffled.

What moves where:

* **Read**: the input files are listed into units (parquet row groups, jsonl
  files), spread over workers (a shuffle of unit names), and each unit is read
  as bounded batches (``pipeline.batches``): pieces.
* **Per-document stages** (``pipeline.judging``) turn a piece into the kept
  piece, ledger rows and counts, in the worker that read it.
* **Grouping stages** (exact and near dedup, ``pipeline.rejoin``) shuffle
  small records (content hash -> rank and position; band keys, ranks and
  shingle sets by id), and their verdicts meet the unit's delta (surviving
  rows, added columns) in one ``GroupByKey`` by unit; the unit is then re-read.
  A stage is a grouping stage when its module has ``batch_verdicts``
  (:func:`grouping_verdicts`).
* **WriteData** (``pipeline.outputs``) groups the last deltas by output shard
  (contiguous units of one language) and the shard's writer re-reads its units.

So document content crosses no shuffle at all: what crosses are unit names,
ranks, keys, ids, row positions, score columns, ledger rows and counts
(plus the new content of documents a stage rewrote, PII redaction, once).
Stages whose wrapper is not a per-document judge or a grouping stage (the
model ``score`` stage, through RunInference) run on dicts at the end, and
their documents reach the writer as one-row deltas with their content.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Any

import apache_beam as beam
import numpy as np
import pyarrow as pa
from apache_beam.options.pipeline_options import StandardOptions

from pipeline import stats as stats_mod
from pipeline import store
from pipeline.batches import (
    CHANGED,
    ROW,
    Piece,
    Unit,
    content_sizes,
    ipc_bytes,
    list_units,
    read_unit,
    to_dicts,
)
from pipeline.finish import WORK_DIR
from pipeline.inputs import input_schema
from pipeline.judging import COUNTS, JudgeStage, judge_factory
from pipeline.outputs import (
    ARROW_TYPES,
    LEDGER_SCHEMA,
    MODIFIED_SCHEMA,
    WriteData,
    WriteRecord,
    WriteSharded,
    data_schema,
    join,
)
from pipeline.progress import CountProgress, progress_enabled, shared_progress
from pipeline.rejoin import Grouped
from pipeline.stages import load_spec
from pipeline.stages.base import KEPT, MODIFIED, REMOVED, content_bytes

DIGEST = "digest"
POSITION = "__sc_position"  # a dict document's (unit, batch index, row) in the dict stages at the end


class _ReadBatches(beam.DoFn):
    """Unit -> pieces; tagged: the ids digest's part per batch, the first stage's input counts."""

    def __init__(self, schema: pa.Schema, first_stage: str | None):
        self._schema = schema
        self._first = first_stage

    def process(self, unit: Unit) -> Iterator[Any]:
        for index, batch in enumerate(read_unit(unit, self._schema)):
            yield beam.pvalue.TaggedOutput(DIGEST, stats_mod.ids_digest_part(batch.column("id").to_pylist()))
            if self._first is not None:
                langs = batch.column("lang").to_pylist()
                for pair in stats_mod.batch_counts(self._first, "in", langs, content_sizes(batch)):
                    yield beam.pvalue.TaggedOutput(COUNTS, pair)
            yield Piece(unit, index, batch)


class ReadPieces(beam.PTransform):
    """Input files -> {kept: pieces, counts: pairs, digest: parts}."""

    def __init__(self, files: list[str], schema: pa.Schema, first_stage: str | None):
        super().__init__()
        self._files = files
        self._schema = schema
        self._first = first_stage

    def expand(self, pbegin: beam.pvalue.PBegin) -> dict[str, beam.PCollection]:
        out = (
            pbegin
            | "Files" >> beam.Create(self._files)
            | "Units" >> beam.FlatMap(list_units)
            | "Spread" >> beam.Reshuffle()
            | "Batches"
            >> beam.ParDo(_ReadBatches(self._schema, self._first)).with_outputs(COUNTS, DIGEST, main=KEPT)
        )
        return {KEPT: out[KEPT], COUNTS: out[COUNTS], DIGEST: out[DIGEST]}


def _tail_docs(piece: Piece) -> Iterator[dict]:
    for doc, row in zip(to_dicts(piece.batch), piece.batch.column(ROW).to_pylist(), strict=True):
        doc[POSITION] = (piece.unit, piece.index, row)
        yield doc


def _tail_record(doc: dict, columns: dict[str, str]) -> WriteRecord:
    """A document back from the dict stages as a one-row delta (with its content: they may change it)."""
    unit, index, row = doc[POSITION]
    content = doc.get("content")
    carried = {name: pa.array([doc.get(name)], pa.string()) for name in ("id", "lang")}
    carried.update({name: pa.array([doc.get(name)], ARROW_TYPES[kind]) for name, kind in columns.items()})
    carried["content"] = pa.array([content if isinstance(content, str) else None], pa.string())
    carried[CHANGED] = pa.array([True])
    rows = np.array([row], dtype=np.int32).tobytes()
    carried_bytes = ipc_bytes(pa.RecordBatch.from_pydict(carried))
    return (doc.get("lang") or "unknown", unit), (index, rows, carried_bytes, content_bytes(doc))


def grouping_verdicts(name: str) -> Callable[..., beam.PTransform] | None:
    """A grouping stage's batch form: ``batch_verdicts(config, context, progress)`` in its module, a
    transform from pieces to verdict records (``pipeline.rejoin``); None for other stages."""
    return getattr(importlib.import_module(f"pipeline.stages.{name}"), "batch_verdicts", None)


def build(p: beam.Pipeline, plan: Any) -> None:
    """Wire reading, the enabled stages, the writers and the counters into ``p`` (``plan``: pipeline.run.Plan)."""
    schema = input_schema(plan.files)
    enabled = plan.config.enabled
    progress = plan.options.view_as(StandardOptions).runner is None and progress_enabled()
    if progress:  # ETA: the reporter counts the input documents in the background
        shared_progress().expect(enabled, plan.files)
    read = p | "Read" >> ReadPieces(plan.files, schema, enabled[0] if enabled else None)
    pieces, counts, removed, modified, columns = read[KEPT], [read[COUNTS]], [], [], {}
    tail: list[str] = []
    for name in enabled:
        spec, cfg = load_spec(name), plan.config.stages[name]
        columns.update(spec.columns)
        if tail:
            tail.append(name)
            continue
        batch_verdicts = grouping_verdicts(name)
        if batch_verdicts is not None:
            verdicts = batch_verdicts(cfg, plan.context, progress)
            out = pieces | f"Stage_{name}" >> Grouped(name, verdicts, schema, progress)
        else:
            make_judge = judge_factory(spec.build(cfg, plan.context))
            if make_judge is None:
                tail.append(name)
                continue
            out = pieces | f"Stage_{name}" >> JudgeStage(name, make_judge, spec.columns, progress)
            modified.append(out[MODIFIED])
        pieces = out[KEPT]
        counts.append(out[COUNTS])
        removed.append(out[REMOVED])
    work, root = join(plan.output, WORK_DIR), plan.parts_root
    target = int(plan.config.output.shard_target_mb * 1e6)
    writer_args = (join(root, "data"), schema, data_schema(schema, columns), target)
    if tail:
        docs = pieces | "TailDocs" >> beam.FlatMap(_tail_docs)
        docs = _dict_stages(docs, tail, plan, progress, counts, removed, modified)
        records = docs | "TailParts" >> beam.Map(_tail_record, columns)
        _ = records | "WriteData" >> WriteData(*writer_args, records=True)
    else:
        _ = pieces | "WriteData" >> WriteData(*writer_args)
    _ = (
        read[DIGEST]
        | "InputDigest" >> stats_mod.DigestParts()
        | "WriteDigest" >> beam.Map(lambda text: store.write_text(join(work, "digest.txt"), text))
    )
    ledger_rows = plan.config.output.ledger_shard_rows
    for folder, schema_, rows, required in (
        ("removed", LEDGER_SCHEMA, removed, enabled),
        ("modified", MODIFIED_SCHEMA, modified, ()),
    ):
        if rows:
            writer = WriteSharded(
                join(root, folder), schema_, lambda r: r["stage"], lambda r: 1, ledger_rows, "part", required
            )
            _ = rows | f"All_{folder}" >> beam.Flatten() | f"Write_{folder}" >> writer
    if enabled:
        _ = (
            counts
            | "AllCounts" >> beam.Flatten()
            | "Counts" >> stats_mod.CombineCounts()
            | "WriteCounts" >> beam.Map(lambda text: store.write_text(join(work, "counts.json"), text))
        )


def _dict_stages(
    docs: beam.PCollection,
    names: list[str],
    plan: Any,
    progress: bool,
    counts: list,
    removed: list,
    modified: list,
) -> beam.PCollection:
    """Stages that only have a dict wrapper (the model ``score`` stage), one after the other."""
    for name in names:
        if progress:
            docs = docs | f"Progress_{name}" >> CountProgress(name)
        result = docs | f"Stage_{name}" >> load_spec(name).build(plan.config.stages[name], plan.context)
        if progress:
            _ = result[REMOVED] | f"ProgressRemoved_{name}" >> CountProgress(name, removed=True)
        counts.append(result[KEPT] | f"CountOut_{name}" >> beam.Map(stats_mod.doc_count_key(name, "out")))
        counts.append(result[REMOVED] | f"CountRemoved_{name}" >> beam.Map(stats_mod.removed_count_key(name)))
        removed.append(result[REMOVED])
        if result.get(MODIFIED) is not None:
            modified.append(result[MODIFIED])
            counts.append(
                result[MODIFIED] | f"CountModified_{name}" >> beam.Map(stats_mod.modified_count_key(name))
            )
        docs = result[KEPT]
    return docs
