"""Stage ``near_dedup``: MinHash LSH + connected components, one document kept per cluster.

Defaults are SantaCoder's ``dedup-alt`` (word 5-grams, 256 perms, 0.7 -> 25
bands x 10 rows, no verification); ``stack-base`` sets the ``stack-v1``
recipe (unigrams, 0.85 -> 13 x 19, ``verify: true``). Documents with fewer
than ``min_tokens`` tokens are not MinHashed and always kept untouched. The
core and the Beam transforms live in ``dedup/``; this module maps config to
parameters, the rows of a batch to sketch items (with their positions) and
removals to verdict records.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Literal

import apache_beam as beam
import pyarrow as pa
from pydantic import Field, model_validator

from dedup.minhash import load_kernels
from dedup.near import (
    BANDS,
    SHINGLES,
    STARS,
    Item,
    NearDedupParams,
    NearVerdicts,
    shingle_keys_of,
    shingle_set,
    sketch,
)
from pipeline import store
from pipeline.batches import CHANGED, Piece, Unit, column_values, content_views
from pipeline.judging import Timed
from pipeline.output_files import iter_column, parquet_files
from pipeline.rejoin import changed_while_running, positions, reread_batches, verdict_record
from pipeline.stages.base import StageConfig, StageContext, StageSpec

STAGE = "near_dedup"
REASON = "near_duplicate"
NEAR_STAGES = ("near_dedup", "near_dedup_alt")
LARGEST_CLUSTERS = 10


class NearDedupConfig(StageConfig):
    ngram: int = Field(5, ge=1)
    num_perm: int = Field(256, ge=1)
    threshold: float = Field(0.7, gt=0.0, lt=1.0)
    seed: int = Field(42, ge=0)
    bands: int | None = Field(None, ge=1, description="null: optimised for the threshold (with rows)")
    rows: int | None = Field(None, ge=1)
    verify: bool = False
    cluster_check: bool = False
    representatives: bool = Field(
        False,
        description="with cluster_check: remove against the component's representatives, not only the kept one",
    )
    min_tokens: int = Field(10, ge=0)
    max_cluster_size: int | None = Field(
        None, ge=2, description="a component larger than this fails the job (or warns: on_large_cluster)"
    )
    on_large_cluster: Literal["fail", "warn"] = "fail"

    @model_validator(mode="after")
    def _bands_and_rows(self) -> NearDedupConfig:
        if (self.bands is None) != (self.rows is None):
            raise ValueError("near_dedup: set both bands and rows, or neither")
        if self.bands is not None and self.bands * self.rows > self.num_perm:
            raise ValueError(
                f"near_dedup: bands x rows = {self.bands * self.rows} exceeds num_perm {self.num_perm}"
            )
        if self.representatives and not self.cluster_check:
            raise ValueError("near_dedup: representatives needs cluster_check: true")
        return self

    def params(self) -> NearDedupParams:
        return NearDedupParams(**self.model_dump(exclude={"enabled"}))


def piece_items(piece: Piece) -> list[Item]:
    """The sketch's view of a batch: (id, content's UTF-8 bytes, stars, position) per row; null stars
    count as 0."""
    batch = piece.batch
    stars = [int(s) if s is not None else 0 for s in column_values(batch, "max_stars_count")]
    contents = content_views(batch.column("content"))
    return list(zip(batch.column("id").to_pylist(), contents, stars, positions(piece), strict=True))


def sketch_piece(piece: Piece, params: NearDedupParams, stage: str, reread: bool = False) -> Iterator:
    """:func:`dedup.near.sketch` of a piece's rows, in one step: the rows' bytes are views of the batch,
    never an element of their own (Beam encodes samples of every element to size it). ``reread``: only
    rows whose content an earlier stage rewrote send their shingle sets (the others' are read again,
    :class:`ReadShingles`, for the few that end a candidate pair)."""
    batch, shingles_for = piece.batch, None
    if reread:
        shingles_for = set()
        if CHANGED in batch.schema.names:
            rewritten = zip(batch.column("id").to_pylist(), column_values(batch, CHANGED), strict=True)
            shingles_for = {doc_id for doc_id, changed in rewritten if changed}
    return sketch(piece_items(piece), params, stage, shingles_for)


def unit_shingles(item: tuple[Unit, Iterable[tuple]], schema: pa.Schema, params: NearDedupParams) -> Iterator:
    """(unit, [(batch index, row, id, ends)]) -> (id, shingle set, ends) per request, from the unit read
    again: the same content the sketch saw (rows no stage rewrote; the others sent their sets)."""
    unit, requests = item
    wanted: dict[int, list[tuple]] = {}
    for index, row, doc_id, ends in requests:
        wanted.setdefault(index, []).append((row, doc_id, ends))
    for index, batch in reread_batches(unit, schema, wanted):
        contents = content_views(batch.column("content"))
        for row, doc_id, ends in wanted[index]:
            keys = shingle_keys_of(contents[row], params)
            if len(keys) == 0:
                raise changed_while_running(unit, f"document {doc_id}")
            yield doc_id, shingle_set(keys, params), ends


class ReadShingles(beam.PTransform):
    """(id, position, ends) -> (id, shingle set, ends): candidates' shingle sets from their units read
    again, so that only those cross the shuffle (verify: 91 of 11,408 documents on the 200 MB sample)."""

    def __init__(self, schema: pa.Schema, params: NearDedupParams, stage: str):
        super().__init__()
        self._schema = schema
        self._params = params
        self._stage = stage

    def expand(self, requests: beam.PCollection) -> beam.PCollection:
        return (
            requests
            | "ByUnit"
            >> beam.MapTuple(lambda doc_id, where, ends: (where[0], (where[1], where[2], doc_id, ends)))
            | "Group" >> beam.GroupByKey()
            | "Shingles" >> beam.ParDo(Timed(self._stage, unit_shingles, self._schema, self._params))
        )


def verdict_records(removal: tuple) -> list[tuple]:
    _, position, detail = removal
    return [verdict_record(position, REASON, detail)]


class NearBatchVerdicts(beam.PTransform):
    """Pieces -> verdict records ``pipeline.rejoin`` applies after re-reading the documents;
    ``stage`` names the metrics (``near_dedup_alt`` reuses this)."""

    def __init__(self, config: NearDedupConfig, stage: str = STAGE, schema: pa.Schema | None = None):
        super().__init__()
        self._params = config.params()
        self._stage = stage
        # verify alone needs only the candidates' shingle sets: read again from the units (schema given)
        self._reread = schema is not None and self._params.verify and not self._params.cluster_check
        self._schema = schema

    def expand(self, pieces: beam.PCollection) -> beam.PCollection:
        sketched = pieces | "Sketch" >> beam.ParDo(
            Timed(self._stage, sketch_piece, self._params, self._stage, self._reread, warm=load_kernels)
        ).with_outputs(SHINGLES, STARS, main=BANDS)
        outputs = {name: sketched[name] for name in (BANDS, SHINGLES, STARS)}
        reread = ReadShingles(self._schema, self._params, self._stage) if self._reread else None
        return (
            outputs
            | "NearVerdicts" >> NearVerdicts(self._params, namespace=self._stage, reread=reread)
            | "Records" >> beam.ParDo(Timed(self._stage, verdict_records))
        )


def verdicts(config: NearDedupConfig, ctx: StageContext) -> beam.PTransform:
    return NearBatchVerdicts(config, schema=ctx.input_schema)


SPEC = StageSpec(name=STAGE, config=NearDedupConfig, verdicts=verdicts, setup_on_node=load_kernels)


def largest_clusters(root: str, stage: str, top: int = LARGEST_CLUSTERS) -> list[dict]:
    """The ``top`` largest clusters of a near-dedup stage, from its ledger under ``root``: size, kept id and
    a member (its smallest removed id). A cluster is named by its kept document (``cluster_kept`` with
    representatives, else ``duplicate_of``). Chains can grow one cluster over a whole source: look here first.
    """
    found: dict[str, tuple[int, str]] = {}
    for batch in iter_column(parquet_files(store.join(root, "removed", stage)), ["id", "detail"]):
        for doc_id, text in zip(batch.get("id", []), batch.get("detail", []), strict=False):
            detail = json.loads(text) if text else {}
            if "duplicate_of" in detail:
                kept = detail.get("cluster_kept", detail["duplicate_of"])
                size, member = found.get(kept, (0, doc_id))
                found[kept] = (max(size, int(detail.get("cluster_size", 0))), min(member, doc_id))
    rows = sorted(found.items(), key=lambda item: (-item[1][0], item[0]))[:top]
    return [{"size": size, "kept": kept, "member": member} for kept, (size, member) in rows]
