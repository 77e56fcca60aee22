"""Fertility report: characters per token, per language, on held-out files, beside a comparison tokenizer.

Why: a code tokenizer is judged by how much text each token carries (SantaCoder's
``fertility`` filter and its cutoffs are in the same unit), and the number only means something
next to a baseline such as GPT-2's tokenizer on the same files. Rows whose id is in the
tokenizer's training sample (``--exclude``) are skipped so the set stays held-out.

``chars_per_token = sum(len(content)) / sum(tokens)`` over a language's documents (Unicode code
points; no special tokens added).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import pyarrow.parquet as pq
from tokenizers import Tokenizer

from cli.command import CliParser, parse_count, run_cli
from tokenizer.corpus import DEFAULT_BATCH_ROWS, iter_text_batches, resolve_parquet_files
from tokenizer.load import load_tokenizer

log = logging.getLogger(__name__)


def counting_tokenizer(spec: str | Path) -> Tokenizer:
    """A tokenizer from any spec ``tokenizer.load`` accepts, counting special-token strings that occur
    in the text as text (a file quoting ``<|endoftext|>`` is measured as written)."""
    tokenizer = load_tokenizer(spec)
    tokenizer.encode_special_tokens = True
    return tokenizer


def read_excluded_ids(paths: Iterable[str | Path]) -> set[str]:
    """Ids of the training sample (``id`` column of its parquet files)."""
    ids: set[str] = set()
    for file in resolve_parquet_files(list(paths)):
        if "id" in pq.read_schema(file).names:
            ids.update(pq.read_table(file, columns=["id"]).column("id").to_pylist())
    return ids


def fertility(
    inputs: Iterable[str | Path] | str | Path,
    tokenizers: dict[str, Tokenizer],
    max_rows_per_lang: int | None = None,
    exclude_ids: set[str] | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> dict[str, dict]:
    """Per language: documents, chars, and for each named tokenizer tokens + chars_per_token.

    ``inputs``: parquet files, directories or globs (see ``resolve_parquet_files``).
    """
    files = resolve_parquet_files(inputs)
    exclude_ids = exclude_ids or set()
    taken: dict[str, int] = defaultdict(int)
    report: dict[str, dict] = defaultdict(lambda: {"documents": 0, "chars": 0, "tokens": defaultdict(int)})
    for batch in iter_text_batches(files, batch_rows):
        contents, langs = [], []
        for content, lang, doc_id in zip(batch.contents, batch.langs, batch.ids, strict=True):
            if doc_id in exclude_ids or (max_rows_per_lang is not None and taken[lang] >= max_rows_per_lang):
                continue
            taken[lang] += 1
            contents.append(content)
            langs.append(lang)
        if not contents:
            continue
        for lang, content in zip(langs, contents, strict=True):
            report[lang]["documents"] += 1
            report[lang]["chars"] += len(content)
        for name, tokenizer in tokenizers.items():
            for lang, encoding in zip(
                langs, tokenizer.encode_batch_fast(contents, add_special_tokens=False), strict=True
            ):
                report[lang]["tokens"][name] += len(encoding.ids)
    result = {}
    for lang in sorted(report):
        entry = report[lang]
        result[lang] = {
            "documents": entry["documents"],
            "chars": entry["chars"],
            "tokens": dict(entry["tokens"]),
            "chars_per_token": {
                name: round(entry["chars"] / n, 4) if n else None for name, n in entry["tokens"].items()
            },
        }
    return result


def format_report(report: dict[str, dict]) -> str:
    """A plain table: one row per language, one column per tokenizer."""
    names = sorted({name for entry in report.values() for name in entry["chars_per_token"]})
    lines = [f"{'language':<12}{'docs':>8}{'chars':>14}" + "".join(f"{name + ' c/t':>18}" for name in names)]
    for lang, entry in report.items():
        cells = "".join(f"{entry['chars_per_token'].get(name) or float('nan'):>18.3f}" for name in names)
        lines.append(f"{lang:<12}{entry['documents']:>8}{entry['chars']:>14}" + cells)
    return "\n".join(lines)


def build_parser() -> CliParser:
    parser = CliParser(prog="python -m tokenizer.fertility", description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", nargs="+", required=True, help="held-out parquet files, dirs or globs")
    parser.add_argument("--tokenizer", required=True, help="the trained tokenizer (dir or tokenizer.json)")
    parser.add_argument("--compare", help="a comparison tokenizer, e.g. GPT-2 (dir or tokenizer.json)")
    parser.add_argument("--exclude", nargs="*", default=[], help="training sample parquet: skip its ids")
    parser.add_argument(
        "--max_rows_per_lang", type=parse_count, default=None, help="rows read per language (default: all)"
    )
    parser.add_argument("--output", help="JSON path (default: fertility.json in the tokenizer directory)")
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    tokenizers = {"trained": counting_tokenizer(args.tokenizer)}
    if args.compare:
        tokenizers["compare"] = counting_tokenizer(args.compare)
    report = fertility(
        args.input,
        tokenizers,
        args.max_rows_per_lang,
        read_excluded_ids(args.exclude) if args.exclude else None,
    )
    tokenizer_path = Path(args.tokenizer)
    default_out = (tokenizer_path if tokenizer_path.is_dir() else tokenizer_path.parent) / "fertility.json"
    output = Path(args.output) if args.output else default_out
    output.write_text(
        json.dumps(
            {"tokenizers": {"trained": args.tokenizer, "compare": args.compare}, "languages": report},
            indent=2,
        )
        + "\n"
    )
    print(format_report(report))
    print(f"written to {output}")


if __name__ == "__main__":
    run_cli(main, "tokenizer.fertility")
