"""Model throughput: scoring and training tokens/s, CPU (tiny, small) and GPU (named sizes) when present.

    python bench/model.py [--small] [--steps 20] [--gpu_sizes small,santacoder-1b] [--gpu_batches 8,32]

The corpus is the Python standard library's source (real code, same on every
machine); the tokenizer is a BPE trained on it with ``tokenizer.train`` (4,096
tokens); rows are given with SantaCoder's 49,157-row embedding table (the output
layer costs what it costs in the real setting; it dominates the tiny model) and
with the 4,101-token vocabulary of the bench tokenizer. On a shared machine the
CPU figures are noisy: run it alone and repeat.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cli.command import CliParser  # noqa: E402

# torch and the model code (which needs it) are imported where they are used: `--help` and a usage error
# answer at once instead of after torch's ~7 s import.

SANTACODER_VOCAB = 49157


def corpus(limit_bytes: int = 1_500_000) -> list[str]:
    root = Path(json.__file__).parent.parent
    texts, total = [], 0
    for path in sorted(root.glob("*.py")):
        text = path.read_text(encoding="utf-8", errors="replace")
        texts.append(text)
        total += len(text)
        if total > limit_bytes:
            break
    return texts


def bench_scoring(
    codec, texts, config_name, device, max_tokens, batch_size, docs, vocab=SANTACODER_VOCAB
) -> dict:
    import torch

    from model.configs import build_model, count_parameters, model_config
    from model.score import score_texts

    config = model_config(config_name, vocab, codec.special.eod)
    model = build_model(config, 0).to(device).eval()
    if device.type == "cuda":
        model = model.to(torch.bfloat16)
    chunks = [t[i : i + 4000] for t in texts for i in range(0, len(t), 4000)][:docs]
    score_texts(model, codec, chunks[: batch_size * 2], max_tokens, batch_size)  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    scores = score_texts(model, codec, chunks, max_tokens, batch_size)
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    tokens = sum(s.tokens for s in scores)
    return {
        "what": "score",
        "config": config_name,
        "device": str(device),
        "vocab": config.vocab_size,
        "params_M": round(count_parameters(model) / 1e6, 2),
        "docs": len(chunks),
        "tokens": tokens,
        "seconds": round(seconds, 2),
        "tokens_per_s": round(tokens / seconds),
        "docs_per_s": round(len(chunks) / seconds, 1),
    }


def bench_training(
    codec, docs, config_name, device, seq_len, batch_size, steps, vocab=SANTACODER_VOCAB
) -> dict:
    from model.train import TrainSettings, train

    settings = TrainSettings(
        config=config_name,
        tokens=steps * seq_len * batch_size,
        seq_len=seq_len,
        batch_size=batch_size,
        device=str(device),
        min_vocab_size=vocab,
    )
    with tempfile.TemporaryDirectory() as tmp:
        result = train(docs, codec, tmp, settings, progress=False)
    return {
        "what": "train",
        "config": config_name,
        "device": str(device),
        "vocab": max(vocab, codec.vocab_size),
        "seq_len": seq_len,
        "batch": batch_size,
        "steps": steps,
        "tokens_per_s": round(result["tokens_per_s"]),
        "final_loss": round(result["losses"][-1], 3),
    }


def build_parser() -> CliParser:
    parser = CliParser(prog="python -m bench.model", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="also the small (~50M) config on CPU (slow)")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    parser.add_argument(
        "--gpu_sizes",
        default="small",
        help="named sizes scored on a GPU, comma-separated (santacoder-1b: the paper's)",
    )
    parser.add_argument(
        "--gpu_batches",
        default="8,32",
        help="score stage batch sizes tried on a GPU (the stage's default there is 32, 8 on CPU)",
    )
    parser.add_argument("--gpu_train", default="small", help="named sizes trained on a GPU, comma-separated")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    import numpy as np
    import torch

    from model.sizes import NAMED_CONFIGS
    from model.tokens import TextCodec
    from tokenizer.train import train_tokenizer

    if args.threads:
        torch.set_num_threads(args.threads)
    texts = corpus()
    codec = TextCodec(train_tokenizer(texts, vocab_size=4096, show_progress=False))
    docs = [np.array(codec.encode(t) + [codec.special.eod], dtype=np.uint16) for t in texts]
    cpu = torch.device("cpu")
    rows = [
        bench_scoring(codec, texts, "tiny", cpu, 512, 8, 32),
        bench_scoring(codec, texts, "tiny", cpu, 512, 8, 32, vocab=codec.vocab_size),
        bench_training(codec, docs, "tiny", cpu, 256, 8, args.steps),
        bench_training(codec, docs, "tiny", cpu, 256, 8, args.steps, vocab=codec.vocab_size),
    ]
    if args.small:
        rows += [
            bench_scoring(codec, texts, "small", cpu, 512, 8, 16),
            bench_training(codec, docs, "small", cpu, 256, 4, max(2, args.steps // 4)),
        ]
    if torch.cuda.is_available():
        gpu = torch.device("cuda")
        # ~1,250 documents of 4,000 characters: seconds of GPU time per row, not milliseconds
        more = corpus(8_000_000)
        for size in args.gpu_sizes.split(","):  # the score stage's max_tokens (512), its batch and larger
            for batch in (int(b) for b in args.gpu_batches.split(",")):
                rows.append(bench_scoring(codec, more, size, gpu, 512, batch, 2048))
        for size in args.gpu_train.split(","):
            seq_len = min(2048, int(NAMED_CONFIGS[size]["n_positions"]))
            rows.append(
                bench_training(codec, docs, size, gpu, seq_len, 16 if size == "small" else 8, args.steps * 3)
            )
    else:
        print("no CUDA device: GPU rows skipped", file=sys.stderr)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    for row in rows:
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
