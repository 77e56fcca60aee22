"""Near-dedup's verification reads the candidates' shingle sets again from their units instead of every
document sending its set through the shuffle: the same verdicts, a fraction of the bytes."""

from __future__ import annotations

from pathlib import Path

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq

from dedup.near import SHINGLES, STARS
from pipeline.batches import CHANGED, Piece, with_column
from pipeline.stages.base import KEPT, REMOVED, StageSpec
from pipeline.stages.near_dedup import SPEC, NearBatchVerdicts, NearDedupConfig, sketch_piece
from tests.stage_runner import run_stages

STACK_V1 = NearDedupConfig(ngram=1, num_perm=256, threshold=0.85, verify=True)


def _sample_docs(sample_dir: Path) -> list[dict]:
    return [row for path in sorted(sample_dir.glob("*.parquet")) for row in pq.read_table(path).to_pylist()]


def test_verify_gives_the_same_verdicts_reading_the_candidates_again(sample_dir, tmp_path):
    shipped = StageSpec(
        name="near_dedup", config=NearDedupConfig, verdicts=lambda c, ctx: NearBatchVerdicts(c)
    )
    out = run_stages(
        {"reread": (SPEC, STACK_V1), "shipped": (shipped, STACK_V1)}, _sample_docs(sample_dir), tmp_path
    )
    removed = {name: sorted((r["id"], str(r["detail"])) for r in out[name][REMOVED]) for name in out}
    kept = {name: sorted(d["id"] for d in out[name][KEPT]) for name in out}
    assert len(removed["reread"]) >= 5  # the sample's near-duplicates, verified
    assert removed["reread"] == removed["shipped"] and kept["reread"] == kept["shipped"]


def _outputs(piece: Piece, reread: bool) -> dict[str, list]:
    found: dict[str, list] = {SHINGLES: [], STARS: [], "bands": []}
    for item in sketch_piece(piece, STACK_V1.params(), "near_dedup", reread):
        if isinstance(item, beam.pvalue.TaggedOutput):
            found[item.tag].append(item.value)
        else:
            found["bands"].append(item)
    return found


def test_only_rows_an_earlier_stage_rewrote_send_their_shingle_sets():
    """Their content differs from the unit's, which is what the candidates' sets are read again from."""
    text = " ".join(f"word{i}" for i in range(40))
    batch = pa.RecordBatch.from_pydict(
        {
            "id": ["a", "b", "c"],
            "content": [text, text + " more", text + " other"],
            "max_stars_count": [1, 2, 3],
            "__sc_row": pa.array([0, 1, 2], pa.int32()),
        }
    )
    piece = Piece(("in.parquet", 0), 0, batch)
    assert [doc_id for doc_id, _ in _outputs(piece, reread=False)[SHINGLES]] == ["a", "b", "c"]
    assert _outputs(piece, reread=True)[SHINGLES] == []
    rewritten = Piece(piece.unit, 0, with_column(batch, CHANGED, pa.array([False, True, None])))
    sent = _outputs(rewritten, reread=True)
    assert [doc_id for doc_id, _ in sent[SHINGLES]] == ["b"]
    assert len(sent[STARS]) == 3 and sent["bands"] == _outputs(piece, reread=False)["bands"]
