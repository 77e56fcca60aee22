"""Grouping stages in the batch pipeline: small records go through the shuffle, documents are re-read.

A grouping stage (exact or near dedup) turns the pieces that reach it into
small records, groups those, and decides: its verdicts are
``(unit, ("v", batch index, row, reason, detail))``. The documents do not
wait for the verdicts in a shuffle: each piece leaves a *delta* (its
surviving row positions and the columns stages added, keyed by its unit),
and after the stage the deltas and verdicts of a unit meet in one
``GroupByKey``. :class:`Rejoin` then re-reads the unit from the input, applies
the delta, drops the rows the verdicts remove (ledger rows, counts) and sends
the rest on as pieces. Reading a unit again costs far less than moving its
documents (parquet decodes at hundreds of MB/s), and nothing is grouped by a
data-dependent key.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from typing import Any

import apache_beam as beam
import numpy as np
import pyarrow as pa

from pipeline import stats as stats_mod
from pipeline.batches import ROW, Piece, Unit, apply_delta, content_sizes, delta_of, read_unit, to_dicts
from pipeline.judging import COUNTS, kept_rows, report_progress
from pipeline.stages.base import KEPT, REMOVED, ledger_row

DELTA = "d"
VERDICT = "v"
Position = tuple[Unit, int, int]  # (unit, batch index, row in the batch as read)


def positions(piece: Piece) -> list[Position]:
    """Where each row of the piece came from: what a grouping stage's verdicts name."""
    return [(piece.unit, piece.index, row) for row in piece.batch.column(ROW).to_pylist()]


def verdict_record(position: Position, reason: str, detail: dict) -> tuple[Unit, tuple]:
    unit, index, row = position
    return unit, (VERDICT, index, row, reason, detail)


def delta_record(piece: Piece, schema: pa.Schema) -> tuple[Unit, tuple]:
    rows, carried = delta_of(piece.batch, schema)
    return piece.unit, (DELTA, piece.index, rows, carried)


def _arriving(piece: Piece, schema: pa.Schema, stage: str, progress: bool) -> tuple[Unit, tuple]:
    """A piece reaching the stage: its delta, and its documents and bytes for the progress display."""
    if progress:
        report_progress(True, stage, piece.batch.num_rows, int(content_sizes(piece.batch).sum()))
    return delta_record(piece, schema)


def changed_while_running(unit: Unit, what: str) -> RuntimeError:
    return RuntimeError(f"{unit[0]} (unit {unit[1]}) changed while the pipeline ran: {what}")


def reread_batches(
    unit: Unit, schema: pa.Schema, indices: Collection[int]
) -> Iterator[tuple[int, pa.RecordBatch]]:
    """The batches ``indices`` of a unit read again, in order (ids and languages left null: what reads a
    unit again has them already); a batch the unit no longer has fails loudly."""
    seen = 0
    for index, batch in enumerate(read_unit(unit, schema, ids=False)):
        if index in indices:
            seen += 1
            yield index, batch
    if seen != len(indices):
        raise changed_while_running(unit, "batches do not match")


class Rejoin(beam.DoFn):
    """(unit, its deltas and verdicts) -> the unit's surviving documents as pieces; ledger rows, counts."""

    def __init__(self, stage: str, schema: pa.Schema, progress: bool):
        self._stage = stage
        self._schema = schema
        self._progress = progress

    def process(self, item: tuple[Unit, Iterable[tuple]]) -> Iterator[Any]:
        unit, records = item
        deltas: dict[int, tuple[bytes, bytes]] = {}
        removals: dict[int, dict[int, tuple[str, dict]]] = {}
        for record in records:
            if record[0] == DELTA:
                deltas[record[1]] = (record[2], record[3])
            else:
                removals.setdefault(record[1], {})[record[2]] = (record[3], record[4])
        for index, batch in reread_batches(unit, self._schema, deltas):
            yield from self._rejoin(
                Piece(unit, index, apply_delta(batch, *deltas[index])), removals.pop(index, {})
            )
        if removals:  # verdicts for a batch that sent no delta
            raise changed_while_running(unit, "batches do not match")

    def _rejoin(self, piece: Piece, gone: dict[int, tuple[str, dict]]) -> Iterator[Any]:
        batch, stage = piece.batch, self._stage
        rows = batch.column(ROW).to_numpy(zero_copy_only=False)
        keep = np.array([row not in gone for row in rows.tolist()], dtype=bool)
        sizes = content_sizes(batch)
        langs = [lang or "unknown" for lang in batch.column("lang").to_pylist()]
        if len(gone) != int((~keep).sum()):
            raise RuntimeError(
                f"stage {stage}: a verdict names a row that is not in {piece.unit} batch {piece.index}"
            )
        lost = np.flatnonzero(~keep)
        reasons = []
        if len(lost):
            for doc, row in zip(to_dicts(batch.take(pa.array(lost))), rows[lost].tolist(), strict=True):
                reason, detail = gone[row]
                reasons.append(reason)
                yield beam.pvalue.TaggedOutput(REMOVED, ledger_row(doc, stage, reason, detail))
        kept = np.flatnonzero(keep)
        counts = stats_mod.batch_counts(stage, "out", [langs[r] for r in kept], sizes[kept])
        counts += stats_mod.batch_counts(stage, "removed", [langs[r] for r in lost], sizes[lost], reasons)
        for pair in counts:
            yield beam.pvalue.TaggedOutput(COUNTS, pair)
        report_progress(self._progress, stage, 0, 0, len(lost))
        yield Piece(piece.unit, piece.index, kept_rows(batch, keep))


class Grouped(beam.PTransform):
    """A grouping stage over pieces. ``verdicts`` (the spec's) maps pieces to verdict records (small); the
    surviving documents come back re-read: {kept: pieces, removed: ledger rows, counts: pairs}. Progress,
    counts and the ledger are done here, the stage's CPU time by its steps (``pipeline.judging.Timed``)."""

    def __init__(self, stage: str, verdicts: beam.PTransform, schema: pa.Schema, progress: bool):
        super().__init__()
        self._stage = stage
        self._verdicts = verdicts
        self._schema = schema
        self._progress = progress

    def expand(self, pieces: beam.PCollection) -> dict[str, beam.PCollection]:
        verdicts = pieces | "Decide" >> self._verdicts
        deltas = pieces | "Deltas" >> beam.Map(_arriving, self._schema, self._stage, self._progress)
        out = (
            (deltas, verdicts)
            | "Together" >> beam.Flatten()
            | "ByUnit" >> beam.GroupByKey()
            | "Rejoin"
            >> beam.ParDo(Rejoin(self._stage, self._schema, self._progress))
            .with_output_types(Piece)
            .with_outputs(REMOVED, COUNTS, main=KEPT)
        )
        return {KEPT: out[KEPT], REMOVED: out[REMOVED], COUNTS: out[COUNTS]}
