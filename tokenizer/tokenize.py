"""Curated ``data/`` parquet -> Megatron ``MMIDIDX`` shards: one document per file, ``<|endoftext|>`` appended.

Why here and why like this: the reference training (``model/``) and Megatron-LM both read the
indexed format; tokens are ``uint16`` (vocabulary 49,157 < 65,536), half the disk of int32.
Documents are encoded with ``encode_batch_fast`` (Rust threads, no offsets) batch by batch, so
memory stays at one batch whatever the corpus size.

Literal special-token text inside a file (a repository that contains the string
``<|endoftext|>``) is encoded as ordinary text (``encode_special_tokens``), so the only
end-of-document tokens in a shard are the ones we append.

Parallel / Beam path: :func:`tokenize_with_beam` tokenizes each input parquet file into its
own shard (``PREFIX-part-00003``) on whichever worker gets it, and :func:`merge_indexed` joins
the shards in file order, which gives exactly the bytes of the sequential path.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer
from tqdm import tqdm

from cli.command import BEAM_HELP, BeamHelpAction, CliParser, parse_beam_command, run_cli
from tokenizer.corpus import DEFAULT_BATCH_ROWS, count_rows, iter_text_batches, resolve_parquet_files
from tokenizer.indexed import IndexedDatasetWriter, merge_indexed
from tokenizer.load import load_tokenizer
from tokenizer.train import EOD_TOKEN

log = logging.getLogger(__name__)

MERGED = "all"


def prepare_tokenizer(tokenizer: Tokenizer | str | Path) -> tuple[Tokenizer, int]:
    """Load (if a path), make special-token text encode as plain text, and return the EOD id."""
    if not isinstance(tokenizer, Tokenizer):
        tokenizer = load_tokenizer(tokenizer)
    tokenizer.encode_special_tokens = True
    eod_id = tokenizer.token_to_id(EOD_TOKEN)
    if eod_id is None:
        raise ValueError(f"the tokenizer has no {EOD_TOKEN} token")
    return tokenizer, eod_id


def choose_dtype(tokenizer: Tokenizer) -> np.dtype:
    """uint16 whenever the vocabulary fits (always for SantaCoder's 49,157), else int32."""
    return (
        np.dtype(np.uint16)
        if tokenizer.get_vocab_size(with_added_tokens=True) <= 65_536
        else np.dtype(np.int32)
    )


def encode_documents(tokenizer: Tokenizer, eod_id: int, contents: list[str]) -> list[list[int]]:
    """Token ids of each content, each followed by the end-of-document id."""
    return [
        encoding.ids + [eod_id]
        for encoding in tokenizer.encode_batch_fast(contents, add_special_tokens=False)
    ]


def shard_prefix(prefix: str | Path, key: str) -> Path:
    """``PREFIX`` for the merged set, ``PREFIX_<lang>`` per language."""
    return Path(prefix) if key == MERGED else Path(f"{prefix}_{key}")


def tokenize_to_indexed(
    parquet_files: Iterable[str | Path] | str | Path,
    tokenizer_path: str | Path | Tokenizer,
    prefix: str | Path,
    per_lang: bool = False,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    show_progress: bool = False,
) -> dict[str, dict]:
    """Tokenize parquet files (``content``, ``lang``) into indexed datasets; returns stats per shard.

    ``per_lang=False`` writes ``PREFIX.bin/.idx`` (key ``"all"``); ``per_lang=True`` writes
    ``PREFIX_<lang>.bin/.idx`` per language. Documents keep the file order, then the row order.
    Each stats entry: ``prefix``, ``documents``, ``tokens`` (EOD included), ``chars``.
    """
    files = resolve_parquet_files(parquet_files)
    tokenizer, eod_id = prepare_tokenizer(tokenizer_path)
    dtype = choose_dtype(tokenizer)
    writers: dict[str, IndexedDatasetWriter] = {}
    stats: dict[str, dict] = {}
    progress = tqdm(total=count_rows(files), unit="doc", disable=not show_progress, desc="tokenize")
    try:
        for batch in iter_text_batches(files, batch_rows):
            token_lists = encode_documents(tokenizer, eod_id, batch.contents)
            for content, lang, tokens in zip(batch.contents, batch.langs, token_lists, strict=True):
                key = lang if per_lang else MERGED
                if key not in writers:
                    writers[key] = IndexedDatasetWriter(shard_prefix(prefix, key), dtype)
                    stats[key] = {
                        "prefix": str(shard_prefix(prefix, key)),
                        "documents": 0,
                        "tokens": 0,
                        "chars": 0,
                    }
                writers[key].add_document(tokens)
                entry = stats[key]
                entry["documents"] += 1
                entry["tokens"] += len(tokens)
                entry["chars"] += len(content)
            progress.update(len(batch.contents))
    finally:
        progress.close()
        for writer in writers.values():
            writer.finalize()
    return dict(sorted(stats.items()))


def tokenize_file_to_shard(
    indexed_file: tuple[int, str], tokenizer_path: str, prefix: str, batch_rows: int = DEFAULT_BATCH_ROWS
) -> str:
    """(file_index, file) -> one shard ``PREFIX-part-NNNNN`` (the unit of work of the Beam path)."""
    file_index, file = indexed_file
    part = f"{prefix}-part-{file_index:05d}"
    tokenize_to_indexed([file], tokenizer_path, part, per_lang=False, batch_rows=batch_rows)
    return part


def tokenize_with_beam(
    parquet_files: Iterable[str | Path] | str | Path,
    tokenizer_path: str | Path,
    prefix: str | Path,
    pipeline_args: list[str] | None = None,
) -> list[Path]:
    """Tokenize files in parallel with Beam, one shard per file, then merge into ``PREFIX`` (merged only)."""
    import apache_beam as beam  # here, not at the top: `--help` and the sequential path need no Beam
    from apache_beam.options.pipeline_options import PipelineOptions

    files = [str(f) for f in resolve_parquet_files(parquet_files)]
    from pipeline.runners import make_runner

    options = PipelineOptions(pipeline_args or [])
    with beam.Pipeline(runner=make_runner(options), options=options) as pipeline:
        _ = (
            pipeline
            | beam.Create(list(enumerate(files)))
            | beam.Reshuffle()
            | "TokenizeFile"
            >> beam.Map(tokenize_file_to_shard, tokenizer_path=str(tokenizer_path), prefix=str(prefix))
        )
    parts = [Path(f"{prefix}-part-{i:05d}") for i in range(len(files))]
    tokenizer, _ = prepare_tokenizer(tokenizer_path)
    merge_indexed(parts, prefix, choose_dtype(tokenizer))
    return parts


def build_parser() -> CliParser:
    parser = CliParser(prog="python -m tokenizer.tokenize", description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", nargs="+", required=True, help="curated data/ dir, parquet files or globs")
    parser.add_argument("--tokenizer", required=True, help="tokenizer directory or tokenizer.json")
    parser.add_argument("--output", required=True, help="output prefix (PREFIX.bin / PREFIX.idx)")
    parser.add_argument("--per_lang", action="store_true", help="one dataset per language: PREFIX_<lang>")
    parser.add_argument("--batch_rows", type=int, default=DEFAULT_BATCH_ROWS, help="rows per parquet read")
    parser.add_argument(
        "--beam", action="store_true", help="parallel: one shard per file with Beam, then merge"
    )
    parser.epilog = "With --beam, a" + BEAM_HELP.format(prog=parser.prog)[1:]
    parser.add_argument("--help_beam", action=BeamHelpAction)
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args, beam_args = parse_beam_command(parser, argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.beam:
        if args.per_lang:
            parser.error("--beam writes the merged dataset only; run it per language directory instead")
        tokenize_with_beam(args.input, args.tokenizer, args.output, beam_args)
        from tokenizer.indexed import IndexedDataset

        merged = IndexedDataset(args.output)
        stats = {MERGED: {"prefix": args.output, "documents": len(merged), "tokens": int(merged.sizes.sum())}}
    else:
        if beam_args:
            parser.error(f"Beam options need --beam: {' '.join(beam_args)}")
        stats = tokenize_to_indexed(
            args.input,
            args.tokenizer,
            args.output,
            per_lang=args.per_lang,
            batch_rows=args.batch_rows,
            show_progress=True,
        )
    Path(f"{args.output}.stats.json").write_text(json.dumps(stats, indent=2) + "\n")
    print(json.dumps(stats, indent=2))


if __name__ == "__main__":
    run_cli(main, "tokenizer.tokenize")
