"""Run stages the way the pipeline does: a one-stage graph (``pipeline.graph.stage_transform``) on a tiny parquet file.

The documents are written to one parquet file and read back as pieces, keeping the ids and languages the
test gave them (a test's keep rule or ledger may depend on them; documents without an ``id`` get the
pipeline's). Kept documents come back as dicts with the fields the test gave plus the stage's score columns.
"""

from __future__ import annotations

import tempfile
import threading
from collections import defaultdict
from pathlib import Path

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from pipeline.batches import Piece, list_units, read_unit, to_dicts
from pipeline.graph import check_stages, stage_transform
from pipeline.inputs import REQUIRED_COLUMNS, input_schema
from pipeline.stages.base import KEPT, MODIFIED, REMOVED, StageConfig, StageContext, StageSpec

_SINKS: dict[str, list] = defaultdict(list)
_LOCK = threading.Lock()
_RUNS = iter(range(10**9))


class _Sink(beam.DoFn):
    """Collects a PCollection into this module's ``_SINKS`` (in-process workers only)."""

    def __init__(self, key: str):
        self._key = key

    def process(self, item) -> None:
        with _LOCK:
            _SINKS[self._key].append(item)


def _pieces(unit, schema: pa.Schema, ids: bool):
    for index, batch in enumerate(read_unit(unit, schema, ids=ids)):
        yield Piece(unit, index, batch)


def _kept_docs(piece: Piece, fields: tuple[str, ...]) -> list[dict]:
    return [{k: v for k, v in doc.items() if k in fields} for doc in to_dicts(piece.batch)]


def write_docs(docs: list[dict], folder: Path, group_rows: int | None = None) -> Path:
    """The documents as one parquet file (every key of any document a column; required ones at least null),
    in row groups of ``group_rows`` (each one a unit of the pipeline, read as its own pieces)."""
    keys = list(dict.fromkeys([*REQUIRED_COLUMNS, *(key for doc in docs for key in doc)]))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "docs.parquet"
    pq.write_table(
        pa.table({key: [doc.get(key) for doc in docs] for key in keys}), path, row_group_size=group_rows
    )
    return path


def pipeline_for(options: PipelineOptions | None = None) -> beam.Pipeline:
    """A pipeline on ``options``' runner when they name one (say PortableRunner), else the in-process FnApiRunner."""
    options = options or PipelineOptions(flags=[])
    if options.get_all_options().get("runner"):
        return beam.Pipeline(options=options)
    return beam.Pipeline(runner=FnApiRunner(), options=options)


def read_pieces(
    pipeline: beam.Pipeline, docs: list[dict], folder: Path, group_rows: int | None = None
) -> tuple[beam.PCollection, pa.Schema]:
    """``docs`` written to ``folder`` and read back as the pipeline reads its input: (pieces, input schema)."""
    path = write_docs(docs, folder, group_rows)
    schema = input_schema([str(path)])
    ids = not all(doc.get("id") for doc in docs)
    pieces = (
        pipeline
        | "Files" >> beam.Create([str(path)])
        | "Units" >> beam.FlatMap(list_units)
        | "Spread" >> beam.Reshuffle()
        | "Pieces" >> beam.FlatMap(_pieces, schema, ids)
    )
    return pieces, schema


def run_stages(
    stages: dict[str, tuple[StageSpec, StageConfig]],
    docs: list[dict],
    folder: Path | None = None,
    ctx: StageContext | None = None,
    options: PipelineOptions | None = None,
) -> dict[str, dict[str, list]]:
    """Each named (spec, config) on the same documents, side by side in one pipeline, checked as the graph
    checks them: name -> {kept: docs, removed: ledger rows, modified: rows}."""
    token = f"run{next(_RUNS)}"
    with pipeline_for(options) as pipeline:
        pieces, schema = read_pieces(pipeline, docs, Path(folder or tempfile.mkdtemp(prefix="stage_runner_")))
        check_stages(list(stages.values()), schema, pipeline)
        for name, (spec, config) in stages.items():
            fields = tuple(dict.fromkeys([*(k for doc in docs for k in doc), "id", "lang", *spec.columns]))
            out = pieces | f"Stage_{name}" >> stage_transform(
                spec, config, ctx or StageContext(), schema, False
            )
            parts = {
                KEPT: out[KEPT] | f"Docs_{name}" >> beam.FlatMap(_kept_docs, fields),
                REMOVED: out[REMOVED],
                MODIFIED: out.get(MODIFIED),
            }
            for part, pcoll in parts.items():
                _SINKS.pop(f"{token}/{name}/{part}", None)
                if pcoll is not None:
                    _ = pcoll | f"Sink_{name}_{part}" >> beam.ParDo(_Sink(f"{token}/{name}/{part}"))
    return {
        name: {part: _SINKS.pop(f"{token}/{name}/{part}", []) for part in (KEPT, REMOVED, MODIFIED)}
        for name in stages
    }


def run_stage(
    spec: StageSpec, config: StageConfig, docs: list[dict], tmp_path: Path, ctx: StageContext | None = None
) -> tuple[list[dict], list[dict]]:
    """One stage on ``docs`` with the in-process FnApiRunner: (kept docs, ledger rows)."""
    out = run_stages({spec.name: (spec, config)}, docs, tmp_path, ctx)[spec.name]
    return out[KEPT], out[REMOVED]
