"""Evaluation metrics: bits per byte, completion loss and FIM exact match against hand computations."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

from decontam.loaders import local_humaneval, local_mbpp
from model.configs import load_model
from model.evaluate import (
    _windows,
    bits_per_byte,
    completion_loss,
    evaluate,
    fim_exact_match,
    fim_single_line_tasks,
    greedy_infill,
    mbpp_pairs,
)
from model.score import score_texts

BENCHMARKS = Path(__file__).resolve().parents[2].parent / "shared" / "benchmarks"


def test_windows_predict_every_token_once():
    ids = list(range(100, 130))
    windows = _windows(ids, eod=0, context=8)
    assert windows[0][0] == 0 and all(len(w) <= 8 for w in windows)
    assert sum((w[1:] for w in windows), []) == ids
    assert [w[0] for w in windows[1:]] == [ids[7 * k - 1] for k in range(1, len(windows))]


def test_bits_per_byte_matches_mean_loss(tiny_model_dir, codec, corpus):
    model = load_model(tiny_model_dir, "cpu")
    docs = [
        {"content": corpus[0][:500], "lang": "python"},
        {"content": corpus[1][:300], "lang": "python"},
        {"content": corpus[2][:400], "lang": "java"},
    ]
    result = bits_per_byte(model, codec, docs)
    scores = score_texts(model, codec, [d["content"] for d in docs], max_tokens=10_000)
    nats = [s.loss * s.tokens for s in scores]
    n_bytes = [len(d["content"].encode()) for d in docs]
    assert result["python"]["bpb"] == pytest.approx(
        (nats[0] + nats[1]) / math.log(2) / (n_bytes[0] + n_bytes[1]), rel=1e-5
    )
    assert result["java"]["bpb"] == pytest.approx(nats[2] / math.log(2) / n_bytes[2], rel=1e-5)
    assert result["all"]["docs"] == 3 and result["all"]["bytes"] == sum(n_bytes)
    long_doc = [{"content": corpus[3][:6000], "lang": "python"}]  # over the 512-token context: windows
    windowed = bits_per_byte(model, codec, long_doc)["python"]
    assert windowed["tokens"] > 512 and 0 < windowed["bpb"] < 10


def test_completion_loss_counts_only_the_completion(tiny_model_dir, codec):
    model = load_model(tiny_model_dir, "cpu")
    prompt, solution = "def add(a, b):\n", "    return a + b\n"
    p, s = codec.encode(prompt), codec.encode(solution)
    ids = [codec.special.eod, *p, *s]
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0]
    expected = F.cross_entropy(logits[len(p) : -1], torch.tensor(s)).item()
    result = completion_loss(model, codec, [(prompt, solution)])
    assert result["tokens"] == len(s) and result["loss"] == pytest.approx(expected, rel=1e-5)
    assert result["bpb"] == pytest.approx(expected * len(s) / math.log(2) / len(solution), rel=1e-5)


def test_benchmark_pairs_from_shared_files():
    mbpp = mbpp_pairs(local_mbpp(BENCHMARKS))
    assert len(mbpp) == 500
    assert mbpp[0][0] == (
        '"""\nWrite a python function to remove first and last occurrence of a given character from the string.\n'
        'assert remove_Occ("hello","l") == "heo"\n"""\n'
    )
    assert all("\r" not in solution for _, solution in mbpp)
    humaneval = local_humaneval(BENCHMARKS)
    tasks = fim_single_line_tasks(humaneval[:1])
    lines = [ln for ln in humaneval[0]["canonical_solution"].splitlines() if ln.strip()]
    assert [t[2] for t in tasks] == lines
    full = humaneval[0]["prompt"] + humaneval[0]["canonical_solution"]
    for prefix, suffix, line in tasks:
        assert (prefix + line + suffix).rstrip("\n") == full.rstrip("\n")
    assert len(fim_single_line_tasks(humaneval)) > 1000


class ScriptedModel(torch.nn.Module):
    """Emits a fixed token script greedily, whatever the input (to test decoding and matching)."""

    def __init__(self, script: list[int], vocab: int):
        super().__init__()
        self.script, self.vocab, self.calls = script, vocab, 0
        self.config = SimpleNamespace(n_positions=512)
        self.device = torch.device("cpu")

    def forward(self, input_ids, past_key_values=None, use_cache=True):
        token = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        logits = torch.zeros(1, input_ids.shape[1], self.vocab)
        logits[0, -1, token] = 1.0
        return SimpleNamespace(logits=logits, past_key_values=None)


def test_greedy_infill_stops_at_newline_and_scores_exact_match(codec):
    line = "    return a + b"
    script = codec.encode(line + "\nextra")
    model = ScriptedModel(script, codec.vocab_size)
    assert greedy_infill(model, codec, "def add(a, b):\n", "\n") == line
    assert model.calls <= len(codec.encode(line + "\n"))
    stop = ScriptedModel(codec.encode("  x") + [codec.special.eod], codec.vocab_size)
    assert greedy_infill(stop, codec, "a", "b") == "  x"
    record = {"prompt": "def add(a, b):\n", "canonical_solution": line + "\n\n    pass\n"}
    result = fim_exact_match(ScriptedModel(script, codec.vocab_size), codec, [record])
    assert result == {"exact_match": 0.5, "lines": 2}  # the scripted line matches line 1, not "pass"


def test_evaluate_returns_every_metric(tiny_model_dir, codec, corpus):
    model = load_model(tiny_model_dir, "cpu")
    heldout = [{"content": corpus[4][:800], "lang": "python"}, {"content": corpus[5][:800], "lang": "java"}]
    metrics = evaluate(model, codec, heldout, BENCHMARKS, max_tasks=3, fim_lines=2)
    expected = {
        "bpb/all",
        "bpb/python",
        "bpb/java",
        "humaneval/loss",
        "humaneval/bpb",
        "mbpp/loss",
        "mbpp/bpb",
        "multipl-e-java-prompt/loss",
        "multipl-e-js-prompt/loss",
        "fim/exact_match",
    }
    assert expected <= set(metrics)
    assert all(math.isfinite(v) for v in metrics.values())
    assert metrics["fim/exact_match"] in (0.0, 0.5, 1.0)


def test_cached_decoding_step_equals_full_recomputation(tiny_model_dir, codec):
    """greedy_infill feeds one token at a time with the KV cache: the logits must match a full pass."""
    model = load_model(tiny_model_dir, "cpu")
    ids = codec.encode("def add(a, b):\n    return")
    with torch.no_grad():
        first = model(torch.tensor([ids]), None, use_cache=True)
        step = model(torch.tensor([[ids[0]]]), first.past_key_values, use_cache=True).logits[0, -1]
        full = model(torch.tensor([ids + [ids[0]]])).logits[0, -1]
    assert torch.allclose(step, full, atol=1e-4)


def test_cli_writes_metrics(tmp_path, tiny_model_dir, corpus):
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    from model.evaluate import main

    rows = [
        {"content": corpus[6][:600], "lang": "python"},
        {"content": corpus[7][:600], "lang": "javascript"},
    ]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "heldout.parquet")
    argv = ["--model", str(tiny_model_dir), "--heldout", str(tmp_path / "heldout.parquet"), "--device", "cpu"]
    argv += [
        "--benchmarks_dir",
        str(BENCHMARKS),
        "--max-tasks",
        "2",
        "--fim-lines",
        "1",
        "--output",
        str(tmp_path / "m.json"),
    ]
    metrics = main(argv)
    assert json.loads((tmp_path / "m.json").read_text()) == metrics
    assert {"bpb/python", "bpb/javascript", "bpb/all"} <= set(metrics)
    assert min(metrics["bpb/python"], metrics["bpb/javascript"]) <= metrics["bpb/all"]
    assert metrics["bpb/all"] <= max(metrics["bpb/python"], metrics["bpb/javascript"])
