"""Evaluation of a reference model: what the ablation compares.

Why these three: bits per byte on held-out files measures how well a model
learned the languages (and is comparable across tokenizers); loss of the
canonical solution given the prompt measures the code-generation benchmarks
without executing anything; single-line FIM exact match on HumanEval is the
SantaCoder paper's infilling benchmark.

* ``bits_per_byte``: every token of every held-out file is predicted once
  (windows of the model's context, each with one token of overlap as context);
  total nats / ln 2 / total UTF-8 bytes, per language and overall.
* benchmark loss: HumanEval (prompt, canonical_solution); MBPP test tasks
  11-510 (prompt = the task text and first test in a docstring, as in the
  SantaCoder/MBPP harness); MultiPL-E ships no solutions, so its metric is
  the loss of the Java / JavaScript prompts themselves.
* FIM: for each non-blank solution line, PSM ``<fim-prefix> prompt+lines
  before <fim-suffix> newline+lines after <fim-middle>``, greedy decoding up
  to a newline / EOD, exact match after stripping surrounding whitespace.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cli.command import CliParser, run_cli
from model.tokens import TextCodec

if TYPE_CHECKING:
    import torch

# torch (and model.score, which needs it) is imported where it is used: `--help` and a usage error answer in
# a fraction of a second instead of after torch's ~5 s import.

LN2 = math.log(2)
MULTIPL_E_LANGS = ("java", "js")


def _windows(ids: list[int], eod: int, context: int) -> list[list[int]]:
    """Sequences whose losses (after their first token) cover ``ids`` exactly once."""
    step = context - 1
    out = []
    for start in range(0, len(ids), step):
        head = [eod] if start == 0 else [ids[start - 1]]
        out.append(head + ids[start : start + step])
    return out


def bits_per_byte(
    model: torch.nn.Module,
    codec: TextCodec,
    docs: Sequence[dict],
    max_tokens_per_doc: int | None = None,
    batch_size: int = 8,
) -> dict[str, dict]:
    """``{lang: {"bpb", "docs", "bytes", "tokens"}}`` plus ``"all"``; files cut at ``max_tokens_per_doc``."""
    from model.score import token_losses

    context = model.config.n_positions
    eod = codec.special.eod
    sequences, owners = [], []
    totals: dict[str, dict] = defaultdict(lambda: {"nats": 0.0, "docs": 0, "bytes": 0, "tokens": 0})
    for doc in docs:
        ids = codec.encode(doc["content"])
        if max_tokens_per_doc is not None and len(ids) > max_tokens_per_doc:
            ids = ids[:max_tokens_per_doc]
            n_bytes = len(codec.decode(ids).encode("utf-8"))
        else:
            n_bytes = len(doc["content"].encode("utf-8"))
        if not ids:
            continue
        lang = str(doc.get("lang", "unknown")).lower()
        for key in (lang, "all"):
            totals[key]["docs"] += 1
            totals[key]["bytes"] += n_bytes
            totals[key]["tokens"] += len(ids)
        for window in _windows(ids, eod, context):
            sequences.append(window)
            owners.append(lang)
    for lang, losses in zip(owners, token_losses(model, sequences, eod, batch_size), strict=True):
        nats = float(losses.double().sum())
        totals[lang]["nats"] += nats
        totals["all"]["nats"] += nats
    return {
        key: {
            "bpb": t["nats"] / LN2 / t["bytes"],
            "docs": t["docs"],
            "bytes": t["bytes"],
            "tokens": t["tokens"],
        }
        for key, t in sorted(totals.items())
    }


def completion_loss(
    model: torch.nn.Module, codec: TextCodec, pairs: Sequence[tuple[str, str]], batch_size: int = 8
) -> dict[str, float]:
    """Mean token loss (nats) and bits per byte of each completion given its prompt, over all pairs."""
    from model.score import token_losses

    context = model.config.n_positions
    eod = codec.special.eod
    sequences, lengths, n_bytes = [], [], 0
    for prompt, completion in pairs:
        target = codec.encode(completion)[: context - 1]
        if not target:
            continue
        sequence = ([eod] + codec.encode(prompt) + target)[-context:]
        sequences.append(sequence)
        lengths.append(len(target))
        n_bytes += len(codec.decode(target).encode("utf-8"))
    nats, tokens = 0.0, 0
    for losses, n in zip(token_losses(model, sequences, eod, batch_size), lengths, strict=True):
        nats += float(losses[-n:].double().sum())
        tokens += n
    return {"loss": nats / tokens, "bpb": nats / LN2 / n_bytes, "tasks": len(sequences), "tokens": tokens}


def humaneval_pairs(records: Sequence[dict]) -> list[tuple[str, str]]:
    return [(r["prompt"], r["canonical_solution"]) for r in records]


def mbpp_pairs(records: Sequence[dict]) -> list[tuple[str, str]]:
    pairs = []
    for r in records:
        if 11 <= int(r["task_id"]) <= 510:
            prompt = f'"""\n{r["text"]}\n{r["test_list"][0]}\n"""\n'
            pairs.append((prompt, r["code"].replace("\r\n", "\n").replace("\r", "\n")))
    return pairs


def load_benchmarks(benchmarks_dir: str | Path | None) -> dict[str, list[tuple[str, str]]]:
    """(prompt, target) pairs per benchmark, from ``decontam.loaders`` (local files or the Hub)."""
    from decontam import loaders

    if benchmarks_dir is None:
        ids = loaders.HubIds()
        humaneval, mbpp = loaders.hub_humaneval(ids), loaders.hub_mbpp(ids)
        multipl_e: dict[str, list[dict]] = {}
    else:
        root = Path(benchmarks_dir)
        humaneval, mbpp = loaders.local_humaneval(root), loaders.local_mbpp(root)
        multipl_e = {
            lang: list(loaders.read_jsonl(root / "multipl-e" / f"humaneval-{lang}-reworded.jsonl"))
            for lang in MULTIPL_E_LANGS
            if (root / "multipl-e" / f"humaneval-{lang}-reworded.jsonl").exists()
        }
    out = {"humaneval": humaneval_pairs(humaneval), "mbpp": mbpp_pairs(mbpp)}
    for lang, rows in multipl_e.items():
        out[f"multipl-e-{lang}-prompt"] = [("", r["prompt"]) for r in rows]
    return out


def fim_single_line_tasks(records: Sequence[dict]) -> list[tuple[str, str, str]]:
    """(prefix, suffix, line) for every non-blank line of every HumanEval canonical solution."""
    tasks = []
    for r in records:
        lines = r["canonical_solution"].splitlines(keepends=True)
        for i, line in enumerate(lines):
            if line.strip():
                prefix = r["prompt"] + "".join(lines[:i])
                suffix = "\n" + "".join(lines[i + 1 :])
                tasks.append((prefix, suffix, line.rstrip("\n")))
    return tasks


def greedy_infill(
    model: torch.nn.Module, codec: TextCodec, prefix: str, suffix: str, max_new_tokens: int = 48
) -> str:
    """The model's greedy middle for (prefix, suffix), PSM layout, cut at the first newline."""
    import torch

    s = codec.special
    budget = model.config.n_positions - max_new_tokens - 3
    prefix_ids = codec.encode(prefix)[-(budget // 2) :]
    suffix_ids = codec.encode(suffix)[: budget - len(prefix_ids)]
    ids = torch.tensor([[s.prefix, *prefix_ids, s.suffix, *suffix_ids, s.middle]], device=model.device)
    generated: list[int] = []
    past = None
    with torch.no_grad():
        for _ in range(max_new_tokens):
            out = model(
                ids, past, use_cache=True
            )  # positional: the cache kwarg was renamed in transformers 5
            past = getattr(out, "past_key_values", None)
            token = int(out.logits[0, -1].argmax())
            if token in (s.eod, s.pad, s.prefix, s.suffix, s.middle):
                break
            generated.append(token)
            if "\n" in codec.decode(generated):
                break
            ids = torch.tensor([[token]], device=model.device)
    return codec.decode(generated).split("\n")[0]


def fim_exact_match(
    model: torch.nn.Module, codec: TextCodec, records: Sequence[dict], max_lines: int | None = None
) -> dict[str, float]:
    tasks = fim_single_line_tasks(records)[:max_lines]
    hits = sum(greedy_infill(model, codec, p, s).strip() == line.strip() for p, s, line in tasks)
    return {"exact_match": hits / len(tasks) if tasks else math.nan, "lines": len(tasks)}


def evaluate(
    model: torch.nn.Module,
    codec: TextCodec,
    heldout: Sequence[dict],
    benchmarks_dir: str | Path | None,
    max_tokens_per_doc: int | None = 1024,
    max_tasks: int | None = None,
    fim_lines: int | None = 200,
) -> dict[str, float]:
    """Flat metrics: ``bpb/<lang>``, ``<benchmark>/loss``, ``<benchmark>/bpb``, ``fim/exact_match``."""
    model.eval()
    metrics: dict[str, float] = {}
    for lang, row in bits_per_byte(model, codec, heldout, max_tokens_per_doc).items():
        metrics[f"bpb/{lang}"] = row["bpb"]
    for name, pairs in load_benchmarks(benchmarks_dir).items():
        result = completion_loss(model, codec, pairs[:max_tasks])
        metrics[f"{name}/loss"] = result["loss"]
        metrics[f"{name}/bpb"] = result["bpb"]
    if fim_lines != 0:
        from decontam import loaders

        records = (
            loaders.local_humaneval(Path(benchmarks_dir))
            if benchmarks_dir
            else loaders.hub_humaneval(loaders.HubIds())
        )
        metrics["fim/exact_match"] = fim_exact_match(model, codec, records, fim_lines)["exact_match"]
    return metrics


def read_documents(path: str | Path) -> list[dict]:
    """Documents (``content``, ``lang``) from a parquet file or every parquet file under a directory
    (an output's ``data/``, local or on an object store)."""
    from pipeline.output_files import iter_rows, parquet_files

    files = parquet_files(path)
    if not files:
        raise FileNotFoundError(f"{path}: no parquet files")
    return list(iter_rows(files, ["content", "lang"]))


def build_parser() -> CliParser:
    parser = CliParser(
        prog="python -m model.evaluate",
        description="Evaluate a reference model (bits per byte, benchmarks, FIM).",
    )
    parser.add_argument("--model", required=True, help="model directory or Hub id")
    parser.add_argument("--tokenizer", default=None, help="tokenizer (default: the model directory)")
    parser.add_argument("--heldout", required=True, help="parquet file or directory of held-out documents")
    parser.add_argument("--benchmarks_dir", default=None, help="local benchmark files (default: the Hub)")
    parser.add_argument("--max_tasks", type=int, default=None, help="tasks per benchmark (default: all)")
    parser.add_argument("--fim_lines", type=int, default=200, help="HumanEval solution lines for FIM")
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda or cuda:N")
    parser.add_argument("--output", default=None, help="write the metrics as JSON here")
    return parser


def main(argv: Sequence[str] | None = None) -> dict:
    parser = build_parser()
    args = parser.parse_args(argv)
    from model.configs import load_model  # torch: after the arguments are known to be right
    from model.tokens import load_codec

    model = load_model(args.model, args.device)
    codec = load_codec(args.tokenizer or args.model)
    metrics = evaluate(
        model,
        codec,
        read_documents(args.heldout),
        args.benchmarks_dir,
        max_tasks=args.max_tasks,
        fim_lines=args.fim_lines,
    )
    text = json.dumps(metrics, indent=1, sort_keys=True)
    if args.output:
        Path(args.output).write_text(text)
    print(text)
    return metrics


if __name__ == "__main__":
    run_cli(main, "model.evaluate")
