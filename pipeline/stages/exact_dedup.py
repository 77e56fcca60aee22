"""Stage ``exact_dedup`` (``dedup.exact``): keep one document per content hash.

Only small records are grouped: (content hash -> keep rank, position). Per
hash the smallest rank wins and every other member becomes a verdict for
``pipeline.rejoin``; the group's values are read twice (Beam's grouped values
are re-iterable), so a hash shared by a hundred thousand files is streamed,
never held. The rank is the keep rule (most stars, then smallest id) made
total by the rest of the row and, last, the position, so identical rows are
decided the same way on every runner.
"""

from __future__ import annotations

from collections.abc import Iterable

import apache_beam as beam

from dedup.exact import full_rank
from pipeline.batches import DIGEST, RAW, ROW, Piece, to_dicts
from pipeline.ids import content_digest
from pipeline.judging import Timed
from pipeline.rejoin import verdict_record
from pipeline.stages.base import StageConfig, StageContext, StageSpec

STAGE = "exact_dedup"
REASON = "exact_duplicate"


class ExactDedupConfig(StageConfig):
    pass


def content_key(content: str) -> str:
    """The exact-dedup key: ``pipeline.ids.content_digest`` in hex (what the reader keeps per row)."""
    return content_digest(content).hex()


def ranks(piece: Piece) -> list[tuple[str, tuple]]:
    """Piece -> (content hash, (keep rank..., position)) per document. The hash is the digest the reader
    kept (``__sc_digest``) where it has one for every row, so content is neither hashed again nor made
    Python text here (the rank leaves the content out)."""
    batch = piece.batch
    rows = batch.column(ROW).to_pylist()
    if DIGEST in batch.schema.names and RAW not in batch.schema.names and not batch.column(DIGEST).null_count:
        keys = [digest.hex() for digest in batch.column(DIGEST).to_pylist()]
        docs = to_dicts(batch.drop_columns(["content"]))
    else:
        docs = to_dicts(batch)
        keys = [content_key(doc["content"]) for doc in docs]
    return [
        (key, (*full_rank(doc), (piece.unit, piece.index, row)))
        for key, doc, row in zip(keys, docs, rows, strict=True)
    ]


def losers(item: tuple[str, Iterable[tuple]]) -> list[tuple]:
    """(content hash, ranks) -> a verdict for every member but the smallest rank."""
    _, group = item
    best, size = None, 0
    for rank in group:
        size += 1
        if best is None or rank < best:
            best = rank
    if size < 2:
        return []
    detail = {"duplicate_of": best[1], "group_size": size}
    return [verdict_record(rank[-1], REASON, detail) for rank in group if rank != best]


class ExactVerdicts(beam.PTransform):
    """Pieces -> verdict records of the exact duplicates to remove."""

    def expand(self, pieces: beam.PCollection) -> beam.PCollection:
        return (
            pieces
            | "Ranks" >> beam.ParDo(Timed(STAGE, ranks))
            | "ByContent" >> beam.GroupByKey()
            | "Losers" >> beam.ParDo(Timed(STAGE, losers))
        )


def verdicts(config: ExactDedupConfig, ctx: StageContext) -> beam.PTransform:
    return ExactVerdicts()


SPEC = StageSpec(name=STAGE, config=ExactDedupConfig, verdicts=verdicts)
