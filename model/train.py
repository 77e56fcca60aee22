"""Reference training: a SantaCoder-architecture model on tokenized shards, fixed token budget.

Why this exists: filter ablations need several small models trained the same
way on different data. Recipe (SantaCoder): AdamW (0.9, 0.95, eps 1e-8,
weight decay 0.1), cosine schedule with 2 % linear warm-up down to 10 % of the
peak rate, gradient clipping at 1.0, FIM (rate 0.5, SPM rate 0.5). Seeded
and resumable: checkpoints hold the model (``save_pretrained``) plus optimizer,
scheduler and RNG state; the data position is the step itself (see
``model.data``).

    python -m model.train --data PREFIX --tokenizer DIR --config tiny --tokens 20M \\
        --seq_len L --batch_size B --output DIR --seed S [--resume]
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cli.command import CliParser, parse_count, run_cli
from model.data import PackedSamples, training_batch
from model.fim import FIM_RATE, FIM_SPM_RATE
from model.sizes import NAMED_CONFIGS
from model.tokens import TextCodec, load_codec, save_codec

if TYPE_CHECKING:
    import torch

# torch, transformers and tqdm are imported where they are used: `--help` and a usage error answer in a
# fraction of a second instead of after torch's ~5 s import.

STATE_FILE = "trainer_state.pt"
LOG_FILE = "train_log.json"


@dataclass
class TrainSettings:
    config: str = "tiny"
    tokens: int = 100_000
    seq_len: int = 256
    batch_size: int = 8
    seed: int = 0
    lr: float = 2e-4
    min_lr_ratio: float = 0.1
    warmup_fraction: float = 0.02
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    fim_rate: float = FIM_RATE
    fim_spm_rate: float = FIM_SPM_RATE
    save_every: int = 0  # steps between checkpoints; 0 = only at the end
    device: str = "auto"
    min_vocab_size: int = 0  # embedding rows at least this many (e.g. 49157 to time SantaCoder's vocabulary)

    @property
    def steps(self) -> int:
        return max(1, math.ceil(self.tokens / (self.seq_len * self.batch_size)))

    @property
    def warmup_steps(self) -> int:
        return max(1, round(self.warmup_fraction * self.steps))


def lr_factor(step: int, settings: TrainSettings) -> float:
    """Linear warm-up, then cosine from 1 to ``min_lr_ratio`` at the last step."""
    warmup, total = settings.warmup_steps, settings.steps
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return settings.min_lr_ratio + (1 - settings.min_lr_ratio) * 0.5 * (
        1 + math.cos(math.pi * min(1.0, progress))
    )


def make_optimizer(model: torch.nn.Module, settings: TrainSettings) -> torch.optim.Optimizer:
    """AdamW; biases and layer norms get no weight decay (Megatron's rule)."""
    import torch

    decay, no_decay = [], []
    for _, param in model.named_parameters():
        (decay if param.ndim >= 2 else no_decay).append(param)
    groups = [
        {"params": decay, "weight_decay": settings.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=settings.lr, betas=(0.9, 0.95), eps=1e-8)


def latest_checkpoint(output: Path) -> Path | None:
    found = sorted(output.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    return found[-1] if found else None


def _save_checkpoint(path: Path, model, codec, optimizer, scheduler, step, losses, settings) -> None:
    import torch

    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    save_codec(codec, tmp)
    state = {
        "step": step,
        "losses": losses,
        "settings": asdict(settings),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
    }
    torch.save(state, tmp / STATE_FILE)
    shutil.rmtree(path, ignore_errors=True)
    tmp.rename(path)


def train(
    docs: Sequence[np.ndarray],
    codec: TextCodec,
    output: str | Path,
    settings: TrainSettings,
    resume: bool = False,
    stop_after: int | None = None,
    progress: bool = True,
) -> dict:
    """Train (or resume) and save the final model in ``output``; returns the loss curve, speed and model.

    ``stop_after`` ends the run after that many steps with a checkpoint, as an
    interruption would (used to test resuming).
    """
    import torch
    import torch.nn.functional as F
    from tqdm import tqdm
    from transformers import GPTBigCodeForCausalLM

    from model.configs import build_model, model_config, resolve_device

    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    device = resolve_device(settings.device)
    vocab_size = max(codec.vocab_size, settings.min_vocab_size)
    config = model_config(settings.config, vocab_size, codec.special.eod, n_positions=None)
    if settings.seq_len > config.n_positions:
        raise ValueError(
            f"--seq_len {settings.seq_len} exceeds the {settings.config} context {config.n_positions}"
        )
    checkpoint = latest_checkpoint(output) if resume else None
    if checkpoint is not None:
        state = torch.load(checkpoint / STATE_FILE, weights_only=False)
        saved = {k: v for k, v in state["settings"].items() if k not in ("save_every", "device")}
        wanted = {k: v for k, v in asdict(settings).items() if k not in ("save_every", "device")}
        if saved != wanted:
            raise ValueError(f"cannot resume {checkpoint}: settings differ ({saved} vs {wanted})")
        model = GPTBigCodeForCausalLM.from_pretrained(checkpoint, dtype=torch.float32)
    else:
        state = None
        model = build_model(config, settings.seed)
    model.to(device)
    model.train()
    optimizer = make_optimizer(model, settings)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(step, settings))
    step, losses = 0, []
    if state is not None:
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["torch_rng"])
        if state["cuda_rng"] is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        step, losses = state["step"], list(state["losses"])
    else:
        torch.manual_seed(settings.seed)

    samples = PackedSamples(
        docs, settings.seq_len, settings.steps * settings.batch_size, settings.seed, codec.special.eod
    )
    tokens_per_step = settings.seq_len * settings.batch_size
    last = settings.steps if stop_after is None else min(settings.steps, step + stop_after)
    bar = tqdm(
        total=settings.steps, initial=step, desc=f"train {settings.config}", unit="step", disable=not progress
    )
    start_time, start_step = time.perf_counter(), step
    while step < last:
        inputs, targets = training_batch(
            samples, step, settings.batch_size, codec, settings.seed, settings.fim_rate, settings.fim_spm_rate
        )
        inputs_t = torch.from_numpy(inputs).to(device)
        targets_t = torch.from_numpy(targets).to(device)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            logits = model(input_ids=inputs_t).logits
        loss = F.cross_entropy(
            logits.float().reshape(-1, logits.shape[-1]), targets_t.reshape(-1), ignore_index=-100
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), settings.grad_clip)
        optimizer.step()
        scheduler.step()
        step += 1
        losses.append(float(loss.item()))
        elapsed = time.perf_counter() - start_time
        bar.update(1)
        bar.set_postfix(
            loss=f"{losses[-1]:.3f}", tok_s=f"{(step - start_step) * tokens_per_step / elapsed:,.0f}"
        )
        if settings.save_every and step % settings.save_every == 0 and step < settings.steps:
            _save_checkpoint(
                output / f"checkpoint-{step}", model, codec, optimizer, scheduler, step, losses, settings
            )
    bar.close()
    elapsed = time.perf_counter() - start_time
    if step < settings.steps:
        _save_checkpoint(
            output / f"checkpoint-{step}", model, codec, optimizer, scheduler, step, losses, settings
        )
    else:
        model.save_pretrained(output)
        save_codec(codec, output)
    result = {
        "steps": step,
        "total_steps": settings.steps,
        "tokens_trained": step * tokens_per_step,
        "losses": losses,
        "tokens_per_s": (step - start_step) * tokens_per_step / elapsed if elapsed > 0 else 0.0,
        "device": str(device),
        "settings": asdict(settings),
    }
    (output / LOG_FILE).write_text(json.dumps(result, indent=1))
    return result | {"model": model}


def load_documents(prefixes: Sequence[str]) -> list[np.ndarray]:
    """Documents of one or more Megatron-style indexed datasets (``tokenizer.indexed``)."""
    from tokenizer.indexed import IndexedDataset

    docs: list[np.ndarray] = []
    for prefix in prefixes:
        dataset = IndexedDataset(prefix)
        docs.extend(dataset[i] for i in range(len(dataset)))
    return docs


def build_parser() -> CliParser:
    parser = CliParser(prog="python -m model.train", description=__doc__)
    parser.add_argument("--data", nargs="+", required=True, help="indexed dataset prefix(es)")
    parser.add_argument("--tokenizer", required=True, help="tokenizer directory or tokenizer.json")
    parser.add_argument("--output", required=True, help="model directory (checkpoints, config, tokenizer)")
    parser.add_argument("--config", default="tiny", choices=list(NAMED_CONFIGS), help="model size")
    parser.add_argument(
        "--tokens", type=parse_count, required=True, help="token budget, e.g. 100000000, 100M or 1.5B"
    )
    parser.add_argument("--seq_len", type=int, default=256, help="sequence length in tokens")
    parser.add_argument("--batch_size", type=int, default=8, help="sequences per step")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights, data order and FIM")
    parser.add_argument("--lr", type=float, default=2e-4, help="peak learning rate")
    parser.add_argument("--fim_rate", type=float, default=FIM_RATE, help="share of documents made FIM")
    parser.add_argument("--fim_spm_rate", type=float, default=FIM_SPM_RATE, help="share of FIM in SPM order")
    parser.add_argument(
        "--save_every", type=int, default=0, help="steps between checkpoints (0: only at the end)"
    )
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda or cuda:N")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint in --output")
    return parser


def main(argv: Sequence[str] | None = None) -> dict:
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = TrainSettings(
        config=args.config,
        tokens=args.tokens,
        seq_len=args.seq_len,
        batch_size=args.batch_size,
        seed=args.seed,
        lr=args.lr,
        fim_rate=args.fim_rate,
        fim_spm_rate=args.fim_spm_rate,
        save_every=args.save_every,
        device=args.device,
    )
    result = train(
        load_documents(args.data), load_codec(args.tokenizer), args.output, settings, resume=args.resume
    )
    summary = {k: v for k, v in result.items() if k not in ("losses", "model")}
    print(json.dumps(summary | {"final_loss": result["losses"][-1]}))
    return result


if __name__ == "__main__":
    run_cli(main, "model.train")
