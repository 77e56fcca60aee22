"""Reference training: the loss falls, checkpoints reload exactly, resuming replays the same curve."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, GPTBigCodeForCausalLM

from model.configs import build_model, count_parameters, model_config
from model.data import PackedSamples, training_batch
from model.train import TrainSettings, latest_checkpoint, lr_factor, train

SETTINGS = dict(config="tiny", seq_len=64, batch_size=4, seed=1, lr=3e-3, device="cpu")


def test_named_configs_shapes():
    tiny = model_config("tiny", 517, 512)
    assert tiny.multi_query and tiny.vocab_size == 520 and tiny.eos_token_id == 512
    assert 0.1e6 < count_parameters(build_model(tiny, 0)) < 1.5e6
    big = model_config("santacoder-1b", 49157, 49152)
    assert (big.n_layer, big.n_head, big.n_embd, big.n_positions, big.vocab_size) == (
        24,
        16,
        2048,
        2048,
        49280,
    )
    with pytest.raises(ValueError, match="unknown model config"):
        model_config("huge", 10, 0)


def test_schedule_warmup_and_cosine():
    s = TrainSettings(tokens=100 * 64 * 4, seq_len=64, batch_size=4)
    assert s.steps == 100 and s.warmup_steps == 2
    assert lr_factor(0, s) == 0.5 and lr_factor(1, s) == 1.0
    assert lr_factor(2, s) == pytest.approx(1.0)
    assert lr_factor(51, s) == pytest.approx(0.55, abs=0.02)
    assert lr_factor(100, s) == pytest.approx(0.1)


def test_packed_samples_cover_stream_in_order(token_docs, codec):
    docs = [np.array([1, 2, 3, codec.special.eod]), np.array([4, 5]), np.array([6, 7, 8, 9, 10])]
    samples = PackedSamples(docs, seq_len=3, num_samples=6, seed=0, eod=codec.special.eod)
    stream = np.concatenate([samples._document(p) for p in range(len(samples.doc_order))])
    for i in range(len(samples)):
        j = int(samples.order[i])
        assert samples[i].tolist() == stream[j * 3 : j * 3 + 4].tolist()
    assert samples.epochs == 2  # 12 tokens per epoch (EODs added where missing): 3 samples per epoch


def test_batch_is_deterministic_and_pad_ignored(token_docs, codec):
    samples = PackedSamples(token_docs, 64, 40, seed=5, eod=codec.special.eod)
    a = training_batch(samples, 3, 4, codec, seed=5)
    b = training_batch(samples, 3, 4, codec, seed=5)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert a[0].shape == (4, 64)
    assert not (a[1] == codec.special.pad).any()


def test_loss_falls(tmp_path, small_docs, codec):
    settings = TrainSettings(tokens=60 * 64 * 4, **(SETTINGS | {"lr": 1e-2}))
    result = train(small_docs, codec, tmp_path / "run", settings, progress=False)
    losses = result["losses"]
    assert result["steps"] == 60 and len(losses) == 60
    assert losses[0] == pytest.approx(
        np.log(520), rel=0.05
    )  # about uniform over the padded vocabulary at init
    assert np.mean(losses[-10:]) < losses[0] - 1.0
    log = json.loads((tmp_path / "run" / "train_log.json").read_text())
    assert log["tokens_trained"] == 60 * 64 * 4 and log["tokens_per_s"] > 0


def test_checkpoint_reloads_with_identical_logits(tmp_path, small_docs, codec):
    settings = TrainSettings(tokens=6 * 64 * 4, **SETTINGS)
    live = train(small_docs, codec, tmp_path / "run", settings, stop_after=3, progress=False)["model"].eval()
    ckpt = latest_checkpoint(tmp_path / "run")
    assert ckpt.name == "checkpoint-3"
    state = torch.load(ckpt / "trainer_state.pt", weights_only=False)
    assert state["step"] == 3 and len(state["losses"]) == 3
    reloaded = AutoModelForCausalLM.from_pretrained(ckpt).eval()  # as bigcode/gpt_bigcode-santacoder loads
    assert isinstance(reloaded, GPTBigCodeForCausalLM) and reloaded.config.multi_query
    assert AutoTokenizer.from_pretrained(ckpt).eos_token_id == codec.special.eod
    ids = torch.tensor([codec.encode("def f(x):\n    return x\n")])
    with torch.no_grad():
        assert torch.equal(live(ids).logits, reloaded(ids).logits)


def test_resume_replays_uninterrupted_curve(tmp_path, small_docs, codec):
    settings = TrainSettings(tokens=8 * 64 * 4, **SETTINGS)
    full = train(small_docs, codec, tmp_path / "full", settings, progress=False)
    first = train(small_docs, codec, tmp_path / "split", settings, stop_after=3, progress=False)
    assert first["steps"] == 3
    second = train(small_docs, codec, tmp_path / "split", settings, resume=True, progress=False)
    assert second["steps"] == 8
    assert np.allclose(second["losses"], full["losses"], rtol=0, atol=1e-6)
    a = GPTBigCodeForCausalLM.from_pretrained(tmp_path / "full").state_dict()
    b = GPTBigCodeForCausalLM.from_pretrained(tmp_path / "split").state_dict()
    assert max((a[k] - b[k]).abs().max().item() for k in a) <= 1e-6
    with pytest.raises(ValueError, match="settings differ"):
        other = TrainSettings(tokens=8 * 64 * 4, **(SETTINGS | {"seed": 2}))
        train(small_docs, codec, tmp_path / "split", other, resume=True, progress=False)


def test_cli_trains_from_indexed_shards(tmp_path, small_docs, tokenizer_dir, codec, capsys):
    from model.train import main
    from tokenizer.indexed import write_indexed

    write_indexed(tmp_path / "data", small_docs)
    argv = ["--data", str(tmp_path / "data"), "--tokenizer", str(tokenizer_dir), "--config", "tiny"]
    argv += [
        "--tokens",
        str(4 * 64 * 2),
        "--seq-len",
        "64",
        "--batch-size",
        "2",
        "--output",
        str(tmp_path / "m"),
    ]
    argv += ["--seed", "3", "--device", "cpu", "--save-every", "2", "--lr", str(SETTINGS["lr"])]
    result = main(argv)
    assert result["steps"] == 4 and result["tokens_trained"] == 512
    assert (tmp_path / "m" / "checkpoint-2" / "trainer_state.pt").is_file()
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["final_loss"] == result["losses"][-1]
    again = train(
        small_docs,
        codec,
        tmp_path / "direct",
        TrainSettings(tokens=512, **(SETTINGS | {"seed": 3, "batch_size": 2})),
        progress=False,
    )
    assert again["losses"] == result["losses"]  # the CLI reads the same documents from the shards
