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

from dedup.exact import content_key, full_rank
from pipeline.batches import ROW, Piece, to_dicts
from pipeline.judging import Timed
from pipeline.rejoin import verdict_record
from pipeline.stages.base import StageConfig, StageContext, StageSpec

STAGE = "exact_dedup"
REASON = "exact_duplicate"


class ExactDedupConfig(StageConfig):
    pass


def ranks(piece: Piece) -> list[tuple[str, tuple]]:
    """Piece -> (content hash, (keep rank..., position)) per document."""
    rows = piece.batch.column(ROW).to_pylist()
    return [
        (content_key(doc["content"]), (*full_rank(doc), (piece.unit, piece.index, row)))
        for doc, row in zip(to_dicts(piece.batch), rows, strict=True)
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
