"""Document content crosses no shuffle: the bytes entering every GroupByKey of the santacoder graph are counted.

Every ``GroupByKey`` applied while the graph is built (those inside
``CoGroupByKey``, ``Reshuffle`` and the writers included) gets a pass-through
step in front of it that adds the encoded size of each element (Beam's
``FastPrimitivesCoder``, what an untyped shuffle carries) to a tally kept in
this process (the in-memory runner runs every step here). Combiners that the
runner lifts (counts, shard sizes, keep-rule winners) shuffle partial
results instead and are not counted; they are small.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import defaultdict

import apache_beam as beam
import pytest
from apache_beam.coders import FastPrimitivesCoder

from pipeline.run import run
from tests.conftest import base_args

_TALLY: dict[str, int] = defaultdict(int)
_LOCK = threading.Lock()


class _Measure(beam.DoFn):
    def __init__(self, label: str):
        self._label = label

    def setup(self) -> None:
        self._coder = FastPrimitivesCoder()

    def process(self, element):
        size = len(self._coder.encode(element))
        with _LOCK:
            _TALLY[self._label] += size
        yield element


@pytest.fixture(scope="module")
def shuffled(sample_dir, shared_dir, tmp_path_factory):
    """(bytes per GroupByKey, stats) of the santacoder preset on the sample."""
    original = beam.Pipeline.apply
    numbers = itertools.count()

    def apply(self, transform, pvalueish=None, label=None):
        fresh = not getattr(transform, "_measured", False)  # apply() re-enters itself for labelled transforms
        if isinstance(transform, beam.GroupByKey) and isinstance(pvalueish, beam.PCollection) and fresh:
            transform._measured = True
            name = f"MeasureShuffle{next(numbers)}"
            measure = beam.ParDo(_Measure(f"{pvalueish.producer.full_label} -> GroupByKey"))
            pvalueish = original(self, measure.with_output_types(pvalueish.element_type), pvalueish, name)
        return original(self, transform, pvalueish, label)

    _TALLY.clear()
    out = tmp_path_factory.mktemp("shuffle") / "out"
    argv = base_args(sample_dir, out, shared_dir) + [
        "--preset",
        "santacoder",
        "--direct_running_mode",
        "in_memory",
    ]
    beam.Pipeline.apply = apply
    try:
        run([*argv, "--direct_num_workers", "1"])
    finally:
        beam.Pipeline.apply = original
    return dict(_TALLY), json.loads((out / "stats.json").read_text())


def test_content_crosses_no_shuffle(shuffled):
    tally, stats = shuffled
    content = stats["input"]["bytes"]
    assert len(tally) >= 10  # the dedup groupings, the re-joins by unit, the writers: all were seen
    # The bound: at most one shuffle of the content (< 1.3 x). What is shuffled is small records:
    # ranks, band keys, shingle sets (near-dedup's verification), edges, row positions, ledger rows.
    assert sum(tally.values()) < 1.3 * content
    # The documents never travel to a grouping stage's re-join or to the writer: those groupings carry row
    # positions, score columns, and only the documents PII rewrote (10% of the sample's files are planted).
    rejoins = {
        label: size
        for label, size in tally.items()
        if "/Together -> " in label or label.startswith("WriteData/Assign -> ")
    }
    assert {label.split("/")[0] for label in rejoins} >= {
        "Stage_exact_dedup",
        "Stage_near_dedup",
        "WriteData",
    }
    for label, size in rejoins.items():
        assert size < 0.1 * content, (label, size, content)
    # exact dedup's ranks: stars, id, a 16-byte digest of the other fields and a row position per document
    (ranks,) = [size for label, size in tally.items() if label.startswith("Stage_exact_dedup/Decide/Ranks")]
    assert ranks < 250 * stats["input"]["docs"], (ranks, stats["input"]["docs"])
