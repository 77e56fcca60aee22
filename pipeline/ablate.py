"""``python -m pipeline.ablate``: what each filter does to a model, in one command.

Why: a filter is only worth its cost if models trained on its output are
better. This runs the SantaCoder ablation recipe on a sample:

1. hold out repositories *before any filtering* (a hash of the repo name), and
   curate them with the base preset (so the held-out set is deduplicated and
   decontaminated like the training data, but no variant ever trains on it);
2. run each pipeline variant (``base`` = stack-base, ``+stars`` = stack-base+stars,
   ...) on the remaining repositories with ``pipeline.run``;
3. train one tokenizer (on the base variant's output) unless one is given,
   tokenize every variant with it;
4. train one reference model per variant and seed with the same token budget,
   evaluate each (bits per byte per language, benchmark losses, FIM match);
5. write ``ablation.md`` (mean ± std per metric and variant, the data each
   filter removed, and which differences are within seed noise),
   ``ablation.png`` and ``ablation.json``.

    python -m pipeline.ablate --input SAMPLE --variants base,+stars,+comments,+dedup-alt,+fertility \\
        --size tiny --seeds 3 --tokens 2M --output DIR
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import shlex
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from pipeline.cli import CliParser, parse_count, run_cli

log = logging.getLogger("stackcurate.ablate")

BASE_PRESET = "stack-base"
VARIANT_STAGE = {
    "+stars": "stars",
    "+comments": "comments",
    "+dedup-alt": "near_dedup",
    "+fertility": "fertility",
}
# model.configs.NAMED_CONFIGS, named here so that --help does not import torch (a test keeps them equal).
MODEL_SIZES = ("tiny", "small", "santacoder-1b")
HEADLINE_METRICS = ("bpb/all", "humaneval/loss", "mbpp/loss", "fim/exact_match")


def is_heldout(repo: str | None, fraction: float) -> bool:
    """Deterministic repository-level split: the same repo is always on the same side."""
    digest = hashlib.sha256((repo or "").encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def input_files(path: str | Path) -> list[Path]:
    path = Path(path)
    files = sorted(path.rglob("*.parquet")) if path.is_dir() else [path]
    if not files:
        raise FileNotFoundError(f"{path}: no parquet files")
    return files


def split_by_repo(input_path: str | Path, output: Path, fraction: float) -> dict[str, int]:
    """Write ``output/train`` and ``output/heldout`` (parquet, same schema per file); returns doc counts."""
    counts = {"train": 0, "heldout": 0}
    for side in counts:
        (output / side).mkdir(parents=True, exist_ok=True)
    for i, file in enumerate(input_files(input_path)):
        table = pq.read_table(file)
        repos = table.column("max_stars_repo_name").to_pylist()
        mask = np.array([is_heldout(r, fraction) for r in repos], dtype=bool)
        for side, keep in (("heldout", mask), ("train", ~mask)):
            part = table.filter(keep)
            if part.num_rows:
                pq.write_table(part, output / side / f"part-{i:05d}.parquet")
                counts[side] += part.num_rows
    return counts


def preset_of(variant: str) -> str:
    if variant == "base":
        return BASE_PRESET
    if not variant.startswith("+"):
        raise ValueError(f"variant {variant!r}: use 'base' or '+NAME' (e.g. +stars)")
    return BASE_PRESET + variant


def curate(
    input_dir: Path, output: Path, preset: str, args: argparse.Namespace, tokenizer: str | None
) -> dict:
    from pipeline.run import run

    argv = ["--input", str(input_dir), "--output", str(output), "--preset", preset, "--no_report", "--quiet"]
    for flag, value in (
        ("--benchmarks_dir", args.benchmarks_dir),
        ("--optout_list", args.optout_list),
        ("--config", args.pipeline_config),
        ("--tokenizer", tokenizer),
    ):
        if value:
            argv += [flag, str(value)]
    return run(argv + shlex.split(args.pipeline_args or ""))


def removed_by_stage(output: Path) -> dict[str, dict[str, int]]:
    """Docs and bytes in the ledger of each stage (``OUT/removed/<stage>/``)."""
    out = {}
    for stage_dir in sorted(p for p in (output / "removed").glob("*") if p.is_dir()):
        docs = size = 0
        for file in stage_dir.glob("*.parquet"):
            table = pq.read_table(file, columns=["size"])
            docs += table.num_rows
            size += int(sum(v or 0 for v in table.column("size").to_pylist()))
        out[stage_dir.name] = {"docs": docs, "bytes": size}
    return out


def summarize(runs: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, tuple[float, float, int]]]:
    """``{variant: {metric: (mean, std, n)}}``; std is the sample std (0 with one seed)."""
    table = {}
    for variant, metrics in runs.items():
        table[variant] = {}
        for key in sorted({k for m in metrics for k in m}):
            values = np.array([m[key] for m in metrics if key in m], dtype=float)
            std = float(values.std(ddof=1)) if len(values) > 1 else 0.0
            table[variant][key] = (float(values.mean()), std, len(values))
    return table


def noise_verdict(base: tuple[float, float, int], other: tuple[float, float, int]) -> str:
    """``within noise`` when |Δmean| < 2 × the pooled seed std; ``n/a`` with a single seed."""
    delta = other[0] - base[0]
    if min(base[2], other[2]) < 2:
        return "one seed: noise unknown"
    pooled = float(np.sqrt((base[1] ** 2 + other[1] ** 2) / 2))
    if delta == 0 or abs(delta) < 2 * pooled:
        return "within noise"
    return "beyond noise"


def write_markdown(path: Path, summary: dict, data: dict, settings: dict) -> str:
    variants = list(summary)
    metrics = sorted({k for v in summary.values() for k in v})
    lines = [
        "# Filter ablation",
        "",
        f"Model `{settings['size']}`, {settings['seeds']} seed(s) per variant, {settings['tokens']:,} training tokens "
        f"each (seq len {settings['seq_len']}, batch {settings['batch_size']}), tokenizer `{settings['tokenizer']}`. "
        f"Held-out set: {settings['heldout_docs']} documents from repositories held out before filtering.",
        "",
        "## Data",
        "",
        "| variant | docs kept | MB kept | removed by the variant's filter (docs / MB, vs base) |",
        "|---|---:|---:|---|",
    ]
    for v in variants:
        d = data[v]
        extra = d.get("filter_removed")
        note = f"{extra['docs']} / {extra['bytes'] / 1e6:.3f}" if extra else "—"
        lines.append(f"| {v} | {d['docs_out']} | {d['bytes_out'] / 1e6:.3f} | {note} |")
    lines += ["", "Removed per stage (docs):", "", "| variant | " + " | ".join(_stages(data)) + " |"]
    lines.append("|---|" + "---:|" * len(_stages(data)))
    for v in variants:
        row = [str(data[v]["removed"].get(s, {}).get("docs", 0)) for s in _stages(data)]
        lines.append(f"| {v} | " + " | ".join(row) + " |")
    lines += ["", "## Metrics (mean ± std over seeds; lower is better except fim/exact_match)", ""]
    lines.append("| metric | " + " | ".join(variants) + " |")
    lines.append("|---|" + "---:|" * len(variants))
    for key in metrics:
        cells = [
            f"{summary[v][key][0]:.4f} ± {summary[v][key][1]:.4f}" if key in summary[v] else "—"
            for v in variants
        ]
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    lines += ["", "## Differences from base", ""]
    within = 0
    total = 0
    for v in variants:
        if v == "base" or "base" not in summary:
            continue
        for key in metrics:
            if key in summary[v] and key in summary["base"]:
                verdict = noise_verdict(summary["base"][key], summary[v][key])
                delta = summary[v][key][0] - summary["base"][key][0]
                lines.append(f"- {v} {key}: Δ = {delta:+.4f} ({verdict})")
                total += 1
                within += verdict == "within noise"
    if total:
        lines += [
            "",
            f"**{within} of {total} differences are within seed noise (|Δmean| < 2 × pooled std)**; "
            "only differences marked 'beyond noise' say anything about a filter at this scale.",
        ]
        if settings["seeds"] < 3:
            lines.append(
                f"With {settings['seeds']} seed(s) the std itself is poorly estimated: treat every verdict as tentative."
            )
    text = "\n".join(lines) + "\n"
    path.write_text(text)
    return text


def _stages(data: dict) -> list[str]:
    return sorted({s for d in data.values() for s in d["removed"]})


def write_plot(path: Path, summary: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    variants = list(summary)
    keys = [k for k in HEADLINE_METRICS if any(k in summary[v] for v in variants)]
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3.5), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        means = [summary[v].get(key, (np.nan, 0, 0))[0] for v in variants]
        stds = [summary[v].get(key, (np.nan, 0, 0))[1] for v in variants]
        ax.bar(range(len(variants)), means, yerr=stds, capsize=4, color="#4c72b0")
        ax.set_xticks(range(len(variants)), variants, rotation=30)
        ax.set_title(key)
        finite = [m for m in means if np.isfinite(m)]
        if finite and key != "fim/exact_match":
            spread = max(finite) - min(finite) + max(stds + [1e-3])
            ax.set_ylim(min(finite) - 2 * spread, max(finite) + 2 * spread)
    fig.suptitle("Filter ablation (mean ± std over seeds)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def ablate(args: argparse.Namespace) -> dict:
    from model.evaluate import evaluate, read_documents
    from model.tokens import load_codec
    from model.train import TrainSettings, load_documents, train
    from tokenizer.tokenize import tokenize_to_indexed
    from tokenizer.train import train_from_parquet

    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    named = [v.strip() for v in args.variants.split(",") if v.strip()]
    variants = ["base"] + [v for v in dict.fromkeys(named) if v != "base"]  # base first: the reference
    split_counts = split_by_repo(args.input, out / "split", args.heldout_fraction)
    log.info("split by repository: %s", split_counts)
    curate(out / "split" / "heldout", out / "heldout", BASE_PRESET, args, args.tokenizer)
    heldout = read_documents(out / "heldout" / "data")

    data: dict[str, dict] = {}
    tokenizer = args.tokenizer
    for variant in variants:  # base first: the shared tokenizer is trained on its output
        stats = curate(
            out / "split" / "train", out / "variants" / variant, preset_of(variant), args, tokenizer
        )
        data[variant] = {
            "docs_out": stats["output"]["docs"],
            "bytes_out": stats["output"]["bytes"],
            "removed": removed_by_stage(out / "variants" / variant),
        }
        if tokenizer is None:
            train_from_parquet(
                out / "variants" / "base" / "data", out / "tokenizer", args.vocab_size, show_progress=False
            )
            tokenizer = str(out / "tokenizer")
    for variant in variants:
        stage = VARIANT_STAGE.get(variant)
        if stage:
            mine = data[variant]["removed"].get(stage, {"docs": 0, "bytes": 0})
            base = data["base"]["removed"].get(stage, {"docs": 0, "bytes": 0})
            data[variant]["filter_removed"] = {k: mine[k] - base[k] for k in ("docs", "bytes")}

    codec = load_codec(tokenizer)
    runs: dict[str, list[dict[str, float]]] = {}
    for variant in variants:
        prefix = out / "tokens" / variant
        prefix.parent.mkdir(parents=True, exist_ok=True)
        tokenize_to_indexed(
            sorted((out / "variants" / variant / "data").rglob("*.parquet")), tokenizer, prefix
        )
        docs = load_documents([str(prefix)])
        runs[variant] = []
        for seed in range(args.seeds):
            settings = TrainSettings(
                config=args.size,
                tokens=args.tokens,
                seq_len=args.seq_len,
                batch_size=args.batch_size,
                seed=seed,
                lr=args.lr,
                device=args.device,
            )
            run_dir = out / "models" / variant / f"seed{seed}"
            result = train(docs, codec, run_dir, settings, progress=args.progress)
            metrics = evaluate(
                result["model"],
                codec,
                heldout,
                args.benchmarks_dir,
                args.max_doc_tokens,
                args.max_tasks,
                args.fim_lines,
            )
            metrics["train/final_loss"] = float(
                np.mean(result["losses"][-max(1, len(result["losses"]) // 10) :])
            )
            (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=1, sort_keys=True))
            runs[variant].append(metrics)

    summary = summarize(runs)
    settings_note = {
        "size": args.size,
        "seeds": args.seeds,
        "tokens": args.tokens,
        "seq_len": args.seq_len,
        "batch_size": args.batch_size,
        "tokenizer": tokenizer,
        "heldout_docs": len(heldout),
    }
    markdown = write_markdown(out / "ablation.md", summary, data, settings_note)
    write_plot(out / "ablation.png", summary)
    report = {
        "settings": settings_note,
        "split": split_counts,
        "data": data,
        "runs": runs,
        "summary": summary,
    }
    (out / "ablation.json").write_text(json.dumps(report, indent=1, sort_keys=True))
    return report | {"markdown": markdown}


def build_parser() -> CliParser:
    parser = CliParser(prog="python -m pipeline.ablate", description=__doc__)
    parser.add_argument("--input", required=True, help="a Stack-format sample (parquet file or directory)")
    parser.add_argument("--output", required=True, help="folder for the variants, models and ablation.md")
    parser.add_argument(
        "--variants",
        default="base,+stars,+comments,+dedup-alt,+fertility",
        help=f"comma-separated variants of {BASE_PRESET}; known: base, {', '.join(VARIANT_STAGE)}",
    )
    parser.add_argument("--size", default="tiny", choices=MODEL_SIZES, help="model config")
    parser.add_argument("--seeds", type=int, default=3, help="models per variant")
    parser.add_argument(
        "--tokens",
        type=parse_count,
        default=2_000_000,
        help="training tokens per model, e.g. 2000000, 2M or 1.5B",
    )
    parser.add_argument("--seq_len", type=int, default=256, help="training sequence length in tokens")
    parser.add_argument("--batch_size", type=int, default=8, help="sequences per training step")
    parser.add_argument("--lr", type=float, default=1e-3, help="peak learning rate")
    parser.add_argument(
        "--tokenizer", default=None, help="shared tokenizer; default: trained on the base output"
    )
    parser.add_argument("--vocab_size", type=int, default=8192, help="when training the shared tokenizer")
    parser.add_argument(
        "--heldout_fraction", type=float, default=0.1, help="share of repositories held out for evaluation"
    )
    parser.add_argument("--benchmarks_dir", default=None, help="local benchmark files (default: the Hub)")
    parser.add_argument("--optout_list", default=None, help="opt-out list for every variant's pipeline run")
    parser.add_argument("--pipeline_config", default=None, help="YAML overlaid on every variant's preset")
    parser.add_argument("--pipeline_args", default=None, help="extra pipeline.run / Beam options, one string")
    parser.add_argument(
        "--max_doc_tokens", type=parse_count, default=1024, help="held-out files are cut here (tokens)"
    )
    parser.add_argument(
        "--max_tasks", type=int, default=None, help="benchmark tasks per benchmark (default: all)"
    )
    parser.add_argument("--fim_lines", type=int, default=200, help="HumanEval solution lines for FIM")
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda or cuda:N")
    parser.add_argument("--progress", action="store_true", help="show the training progress bars")
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse and check what can be checked before hours of work: each variant and --pipeline_config resolve."""
    from pipeline.config import resolve

    args = build_parser().parse_args(argv)
    for variant in [v.strip() for v in args.variants.split(",") if v.strip()]:
        if variant != "base" and not variant.startswith("+"):
            raise SystemExit(f"pipeline.ablate: --variants: {variant!r}: use base or +NAME (e.g. +stars)")
        resolve(preset_of(variant), args.pipeline_config)
    return args


def main(argv: Sequence[str] | None = None) -> dict:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    report = ablate(args)
    print(report["markdown"])
    return report


if __name__ == "__main__":
    run_cli(main, "pipeline.ablate")
