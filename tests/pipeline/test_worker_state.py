"""Worker state: a stage's heavy objects are built once per worker process and shared by its threads.

Beam runners make one DoFn instance per thread (Dataflow: per thread of each SDK process), so the
framework's ``JudgeBatches`` builds a stage's judge through ``apache_beam.utils.shared.Shared``. These tests process
bundles on two threads and count constructions, and check that every judge gives the same
verdicts from eight threads at once as from one.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import apache_beam as beam
import pyarrow.parquet as pq
import pytest
from apache_beam.internal import pickler
from apache_beam.options.pipeline_options import PipelineOptions

from decontam.core import Decontaminator
from pipeline.graph import stage_transform
from pipeline.judging import JudgeBatches
from pipeline.stages.base import StageConfig, StageContext, StageSpec, Verdict
from tests.stage_runner import pipeline_for, read_pieces

# Module level, so the pickled DoFns refer to these objects (this module is importable) instead of copies.
COUNTS: Counter = Counter()
THREADS: set[int] = set()


class CountingJudge:
    def __init__(self) -> None:
        COUNTS["judge_made"] += 1

    def setup(self) -> None:
        COUNTS["judge_setup"] += 1
        time.sleep(0.2)  # slow, so a second thread asks while the first one is still building

    def judge(self, docs):
        THREADS.add(threading.get_ident())
        time.sleep(0.002)
        return [Verdict(scores={"batch": len(docs)}) for _ in docs]


class CountingDecontaminator(Decontaminator):
    def __init__(self, *args, **kwargs) -> None:
        COUNTS["automaton_built"] += 1
        super().__init__(*args, **kwargs)


@pytest.fixture(autouse=True)
def _reset():
    COUNTS.clear()
    THREADS.clear()


@pytest.fixture
def count_dofn_setups(monkeypatch):
    original = JudgeBatches.setup

    def counting(self) -> None:
        COUNTS["dofn_setup"] += 1
        original(self)

    monkeypatch.setattr(JudgeBatches, "setup", counting)


def _sample_docs(sample_dir: Path) -> list[dict]:
    from pipeline.inputs import prepare

    rows = [row for path in sorted(sample_dir.glob("*.parquet")) for row in pq.read_table(path).to_pylist()]
    return [prepare(row) for row in rows]


@pytest.fixture(scope="module")
def docs(sample_dir: Path, truth) -> list[dict]:
    """The sample's planted PII and benchmark files and every third other file (~130 of 339)."""
    planted = {t["id"] for t in truth["pii"] + truth["decontam"]}
    return [d for i, d in enumerate(_sample_docs(sample_dir)) if d["id"] in planted or i % 3 == 0]


@pytest.fixture(scope="module")
def tokenizer_file(docs, tmp_path_factory) -> Path:
    from tokenizer.train import train_tokenizer

    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    texts = [d["content"] for d in docs if isinstance(d.get("content"), str)][:150]
    train_tokenizer(texts, vocab_size=400, show_progress=False).save(str(path))
    return path


def test_two_dofn_copies_setting_up_at_once_build_one_judge():
    """Two unpickled copies of the DoFn (what two worker threads hold) share one judge, built once."""
    payload = pickler.dumps(JudgeBatches("counting", CountingJudge, {}, progress=False))
    copies = [pickler.loads(payload), pickler.loads(payload)]
    barrier = threading.Barrier(2)

    def start(dofn) -> None:
        barrier.wait()
        dofn.setup()

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(start, copies))
    assert (COUNTS["judge_made"], COUNTS["judge_setup"]) == (1, 1)
    assert copies[0]._held.judge is copies[1]._held.judge
    # a DoFn built for another transform (another key) builds its own judge
    other = pickler.loads(pickler.dumps(JudgeBatches("counting", CountingJudge, {}, progress=False)))
    other.setup()
    assert COUNTS["judge_made"] == 2 and other._held.judge is not copies[0]._held.judge


def test_stages_build_heavy_state_once_per_process_with_two_threads(
    docs, tokenizer_file, shared_dir, monkeypatch, count_dofn_setups, tmp_path
):
    """FnApiRunner with two worker threads: decontam's automaton, fertility's tokenizer and a judge are
    each built once, while two DoFn instances per stage process bundles on two threads."""
    from pipeline.stages import decontam, fertility
    from tokenizer.load import TokenizerRef

    monkeypatch.setattr(decontam, "Decontaminator", CountingDecontaminator)
    load = TokenizerRef.load

    def counting_load(self):
        COUNTS["tokenizer_loaded"] += 1
        return load(self)

    monkeypatch.setattr(TokenizerRef, "load", counting_load)
    ctx = StageContext(benchmarks_dir=str(shared_dir / "benchmarks"), tokenizer=str(tokenizer_file))
    options = PipelineOptions(direct_num_workers=2, direct_running_mode="multi_threading")
    counting = StageSpec("counting", StageConfig, make_judge=lambda config, ctx: CountingJudge)
    with pipeline_for(options) as p:
        stream, schema = read_pieces(p, docs, tmp_path / "input", group_rows=8)  # ~17 units for two threads
        outputs = {}
        for spec, config in (
            (counting, StageConfig(enabled=True)),
            (decontam.SPEC, decontam.DecontamConfig(enabled=True)),
            (fertility.SPEC, fertility.FertilityConfig(enabled=True, batch_size=16)),
        ):
            outputs[spec.name] = stream | f"Stage_{spec.name}" >> stage_transform(
                spec, config, ctx, schema, False
            )
            stream = outputs[spec.name]["kept"]
        removed = [outputs[name]["removed"] for name in outputs]
        _ = removed | beam.Flatten() | beam.Map(json.dumps) | beam.io.WriteToText(str(tmp_path / "removed"))
        ids = stream | "Ids" >> beam.FlatMap(lambda piece: piece.batch.column("id").to_pylist())
        _ = ids | "W" >> beam.io.WriteToText(str(tmp_path / "kept"))
    assert COUNTS["dofn_setup"] >= 6  # three stages, at least two DoFn instances each
    assert len(THREADS) >= 2  # the counting judge was called from two threads
    assert (COUNTS["judge_made"], COUNTS["automaton_built"], COUNTS["tokenizer_loaded"]) == (1, 1, 1)
    kept = [line for f in tmp_path.glob("kept-*") for line in f.read_text().splitlines()]
    rows = [json.loads(line) for f in tmp_path.glob("removed-*") for line in f.read_text().splitlines()]
    assert len(kept) + len(rows) == len(docs)
    assert sum(r["stage"] == "decontam" for r in rows) >= 10  # the sample's planted benchmark copies


def _judges(shared_dir: Path, tokenizer_file: Path) -> dict:
    from pipeline.stages.comments import CommentsJudge
    from pipeline.stages.decontam import DecontamConfig, DecontamJudge
    from pipeline.stages.fertility import FertilityJudge
    from pipeline.stages.pii import PiiConfig, PiiJudge
    from tokenizer.load import tokenizer_ref

    return {
        "decontam": lambda: DecontamJudge(DecontamConfig(enabled=True), str(shared_dir / "benchmarks")),
        "comments-tree-sitter": lambda: CommentsJudge(lexer="tree-sitter"),
        "comments-reference": lambda: CommentsJudge(lexer="reference"),
        "fertility": lambda: FertilityJudge(tokenizer_ref(tokenizer_file), {"python": 2.5}, batch_size=8),
        "pii": lambda: PiiJudge(PiiConfig()),
    }


@pytest.mark.parametrize(
    "name", ["decontam", "comments-tree-sitter", "comments-reference", "fertility", "pii"]
)
def test_judges_give_the_same_verdicts_from_eight_threads(name, docs, shared_dir, tokenizer_file):
    """One judge instance, as a worker process shares it: 8 threads at once agree with one thread."""
    judge = _judges(shared_dir, tokenizer_file)[name]()
    judge.setup()
    batches = [docs[i : i + 8] for i in range(0, len(docs), 8)]
    serial = [judge.judge(batch) for batch in batches]
    with ThreadPoolExecutor(8) as pool:
        threaded = list(pool.map(judge.judge, batches))
    assert threaded == serial
    changed = sum(not v.keep or v.content is not None for verdicts in serial for v in verdicts)
    assert changed > 0  # the subset exercises the judge's decisions, not only its "keep" path
