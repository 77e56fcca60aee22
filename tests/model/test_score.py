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
from pipeline.stages.base import StageContext
from pipeline.stages.score import SPEC, ScoreConfig


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
    with beam.Pipeline(runner=FnApiRunner()) as p:
        out = p | beam.Create(docs) | SPEC.build(config, StageContext())
        out["kept"] | "K" >> beam.Map(json.dumps) | "WK" >> beam.io.WriteToText(str(tmp_path / "kept"))
        out["removed"] | "R" >> beam.Map(json.dumps) | "WR" >> beam.io.WriteToText(str(tmp_path / "removed"))
    kept = [json.loads(x) for f in tmp_path.glob("kept*") for x in f.read_text().splitlines()]
    removed = [json.loads(x) for f in tmp_path.glob("removed*") for x in f.read_text().splitlines()]
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


def test_accelerator_hint_only_when_configured(tiny_model_dir):
    hint = "type:nvidia-l4;count:1;install-nvidia-driver"
    for accelerator, expected in ((hint, [hint.encode()]), (None, [])):
        config = ScoreConfig(enabled=True, model=str(tiny_model_dir), accelerator=accelerator)
        pipeline = beam.Pipeline(runner=FnApiRunner())
        _ = pipeline | beam.Create([]) | SPEC.build(config, StageContext())  # built, not run
        values = sorted({v for h in _collect_hints(pipeline) for k, v in h.items() if "accelerator" in k})
        assert values == expected


def _collect_hints(pipeline) -> list[dict]:
    found = []

    class Visitor(beam.pipeline.PipelineVisitor):
        def enter_composite_transform(self, node):
            self.visit_transform(node)

        def visit_transform(self, node):
            if node.resource_hints:
                found.append(dict(node.resource_hints))

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
