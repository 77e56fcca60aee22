"""Scoring: the core's numbers match a hand computation, and the Beam stage gives the same numbers."""

from __future__ import annotations

import json
import math

import apache_beam as beam
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from model.configs import load_model
from model.score import score_texts
from pipeline.graph import stage_transform
from pipeline.inputs import input_schema
from pipeline.stages.base import StageContext
from pipeline.stages.score import SPEC, ScoreConfig
from tests.stage_runner import run_stage, write_docs


def documents(corpus) -> list[dict]:
    texts = [corpus[i][j * 700 : j * 700 + 600] for i in range(3) for j in range(3)]
    texts += ["", "zq#@!~ 9f8 QQQ }{ ]] ~~^^ 00x" * 10]
    return [
        {
            "id": f"{i:020x}",
            "content": t,
            "lang": "python",
            "max_stars_repo_name": f"o/r{i}",
            "max_stars_repo_path": "a.py",
        }
        for i, t in enumerate(texts)
    ]


def test_loss_matches_hand_computation(tiny_model_dir, codec, corpus):
    model = load_model(tiny_model_dir, "cpu")
    text = corpus[0][:400]
    ids = [codec.special.eod] + codec.encode(text)[:50]
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0, :-1]
    expected = F.cross_entropy(logits, torch.tensor(ids[1:])).item()
    (score,) = score_texts(model, codec, [text], max_tokens=50)
    assert score.tokens == 50
    assert score.loss == pytest.approx(expected, rel=1e-5)
    assert score.ppl == pytest.approx(math.exp(expected), rel=1e-5)


def test_batching_does_not_change_scores(tiny_model_dir, codec, corpus):
    model = load_model(tiny_model_dir, "cpu")
    texts = [d["content"] for d in documents(corpus)]
    alone = [score_texts(model, codec, [t], max_tokens=128)[0] for t in texts]
    batched = score_texts(model, codec, texts, max_tokens=128, batch_size=4)
    for a, b in zip(alone, batched, strict=True):
        assert a.tokens == b.tokens
        assert (math.isnan(a.loss) and math.isnan(b.loss)) or a.loss == pytest.approx(b.loss, rel=1e-5)
    assert math.isnan(batched[-2].loss) and batched[-2].tokens == 0  # the empty document
    code_losses = [s.loss for s in batched[:-2]]
    assert batched[-1].loss > max(code_losses)  # garbage scores worse than real code


def test_stage_in_pipeline_matches_direct_scoring(tmp_path, tiny_model_dir, codec, corpus):
    docs = documents(corpus)
    model = load_model(tiny_model_dir, "cpu")
    direct = score_texts(model, codec, [d["content"] for d in docs], max_tokens=128)
    code_ppl = sorted(s.ppl for s in direct[:-2])
    max_ppl = (code_ppl[-1] + direct[-1].ppl) / 2  # removes exactly the garbage document
    config = ScoreConfig(
        enabled=True, model=str(tiny_model_dir), max_tokens=128, batch_size=3, max_ppl=max_ppl
    )
    assert SPEC.columns == {"score_loss": "float64", "score_ppl": "float64"}
    kept, removed = run_stage(SPEC, config, docs, tmp_path)
    assert sorted(d["id"] for d in kept) == sorted(d["id"] for d in docs[:-1])
    assert [r["id"] for r in removed] == [docs[-1]["id"]] and removed[0]["reason"] == "perplexity"
    assert json.loads(removed[0]["detail"])["max_ppl"] == max_ppl
    by_id = {d["id"]: d for d in kept}
    for doc, score in zip(docs[:-1], direct[:-1], strict=True):
        got = by_id[doc["id"]]
        if math.isnan(score.loss):
            assert math.isnan(got["score_loss"]) and math.isnan(got["score_ppl"])
        else:
            assert got["score_loss"] == pytest.approx(score.loss, rel=1e-5)
            assert got["score_ppl"] == pytest.approx(score.ppl, rel=1e-5)
    assert np.isfinite([d["score_loss"] for d in kept if d["content"]]).all()


def test_accelerator_hint_only_when_configured(tiny_model_dir, tmp_path):
    """The spec asks for the accelerator; the framework puts the hint on the stage's steps and only there."""
    hint = "type:nvidia-l4;count:1;install-nvidia-driver"
    schema = input_schema([str(write_docs([{"content": "x"}], tmp_path))])
    for accelerator, expected in ((hint, [hint.encode()]), (None, [])):
        config = ScoreConfig(enabled=True, model=str(tiny_model_dir), accelerator=accelerator)
        assert SPEC.resources(config).accelerator == accelerator
        pipeline = beam.Pipeline(runner=FnApiRunner())
        pieces = pipeline | beam.Create([])
        _ = pieces | "Stage_score" >> stage_transform(
            SPEC, config, StageContext(), schema, False
        )  # built, not run
        _ = pieces | "Other" >> beam.Map(len)
        found = [
            (name, h)
            for name, hints in _collect_hints(pipeline)
            for h in hints.items()
            if "accelerator" in h[0]
        ]
        assert sorted({v for _, (_, v) in found}) == expected
        assert all(name.startswith("Stage_score") for name, _ in found)


def _collect_hints(pipeline) -> list[tuple[str, dict]]:
    found = []

    class Visitor(beam.pipeline.PipelineVisitor):
        def enter_composite_transform(self, node):
            self.visit_transform(node)

        def visit_transform(self, node):
            if node.resource_hints:
                found.append((node.full_label, dict(node.resource_hints)))

    pipeline.visit(Visitor())
    return found


def test_stage_through_pipeline_run_writes_score_columns(tmp_path, tiny_model_dir, codec, corpus):
    """``pipeline.run`` with only the score stage: the written columns equal direct scoring."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipeline.run import run

    docs = documents(corpus)[:-2]  # non-empty code files
    rows = [
        {
            "content": d["content"],
            "max_stars_repo_name": d["max_stars_repo_name"],
            "max_stars_repo_path": f"f{i}.py",
        }
        for i, d in enumerate(docs)
    ]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "in.parquet")
    config = tmp_path / "score.yaml"
    config.write_text(f"stages:\n  score: {{model: {tiny_model_dir}, max_tokens: 128, batch_size: 4}}\n")
    argv = ["--input", str(tmp_path / "in.parquet"), "--output", str(tmp_path / "out"), "--stages", "score"]
    argv += ["--config", str(config), "--no_report", "--quiet", "--direct_num_workers=1"]
    run(argv + ["--direct_running_mode=in_memory"])
    written = [
        r for f in (tmp_path / "out" / "data").rglob("*.parquet") for r in pq.read_table(f).to_pylist()
    ]
    assert len(written) == len(rows)
    model = load_model(tiny_model_dir, "cpu")
    direct = {
        r["content"]: s
        for r, s in zip(rows, score_texts(model, codec, [r["content"] for r in rows], 128), strict=True)
    }
    for row in written:
        assert row["score_loss"] == pytest.approx(direct[row["content"]].loss, rel=1e-5)
        assert row["score_ppl"] == pytest.approx(direct[row["content"]].ppl, rel=1e-5)


def test_batch_size_follows_the_device_unless_configured(tiny_model_dir):
    """Unset, the stage scores 32 documents per pass on a GPU (twice the 1.1B model's throughput at 8 on an
    H200) and 8 on CPU; a configured size stays."""
    from model.score import CPU_BATCH_SIZE, GPU_BATCH_SIZE, default_batch_size
    from pipeline.stages.score import ScoreConfig, ScoreJudge

    assert ScoreConfig(enabled=True, model=str(tiny_model_dir)).batch_size is None
    assert (default_batch_size(torch.device("cuda")), default_batch_size(torch.device("cpu"))) == (32, 8)
    assert GPU_BATCH_SIZE > CPU_BATCH_SIZE
    judge = ScoreJudge(str(tiny_model_dir), None, 128, None, device="cpu")
    judge.setup()
    assert judge.batch_size == CPU_BATCH_SIZE
    mine = ScoreJudge(str(tiny_model_dir), None, 128, 3, device="cpu")
    mine.setup()
    assert mine.batch_size == 3
    with pytest.raises(ValueError):
        ScoreConfig(enabled=True, model=str(tiny_model_dir), batch_size=0)
