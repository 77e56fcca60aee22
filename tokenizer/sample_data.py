"""Beam job: the tokenizer's training sample, a fixed number of rows per language, deterministic by seed.

SantaCoder's recipe trains the tokenizer on 600,000 rows, 200,000 per language. Beam's
``combiners.Sample.FixedSizePerKey`` would be the obvious tool, but it ranks elements by an
unseeded ``random.random()`` on each worker (see ``SampleCombineFn.add_input``), so two runs
give two samples. We keep its algorithm (per-key top-n by a random priority) and make the
priority a seeded hash instead: ``priority = (blake2b(seed, id), id)``. The n smallest priorities
per language are found with ``Top.SmallestPerKey`` over (lang, priority) pairs only (no content
in the combiner), and the documents at or below each language's n-th priority are kept. Same
input + seed = same rows, on any runner and worker count; a language with fewer rows than asked
keeps them all, which is logged and written to ``sample_summary.json``.

Usage: ``python -m tokenizer.sample_data --input OUT/data --output DIR --rows_per_lang 200k --seed 0``
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from cli.command import BEAM_HELP, BeamHelpAction, CliParser, parse_beam_command, parse_count, run_cli
from tokenizer.corpus import ID_COLUMNS, document_id, document_lang, resolve_parquet_files

log = logging.getLogger(__name__)

DEFAULT_ROWS_PER_LANG = 200_000
SAMPLE_SCHEMA = pa.schema([("id", pa.string()), ("lang", pa.string()), ("content", pa.string())])


def sample_priority(seed: int, doc_id: str) -> tuple[int, str]:
    """Seeded pseudo-random rank of a document; the id breaks (astronomically rare) hash ties."""
    digest = hashlib.blake2b(f"{seed}\x00{doc_id}".encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big"), doc_id


def select_sample(rows: Iterable[tuple[str, str]], rows_per_lang: int, seed: int) -> dict[str, set[str]]:
    """Pure reference of the Beam job: (lang, id) pairs -> the selected ids per language."""
    by_lang: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for lang, doc_id in rows:
        by_lang[lang].append(sample_priority(seed, doc_id))
    return {lang: {doc_id for _, doc_id in sorted(ranks)[:rows_per_lang]} for lang, ranks in by_lang.items()}


def to_sample_row(filename_and_row: tuple[str, dict]) -> dict:
    """A parquet row -> {id, lang, content}; lang from the directory name and id from a hash if absent."""
    filename, row = filename_and_row
    content = row["content"]
    if content is None:
        raise ValueError(f"{filename}: row with null content (id {row.get('id')})")
    return {
        "id": document_id(row, content),
        "lang": document_lang(row.get("lang"), filename),
        "content": content,
    }


def _sample_rows_per_lang(docs: Any, rows_per_lang: int, seed: int) -> Any:
    """PCollection of {id, lang, content} -> at most ``rows_per_lang`` of them per language."""
    import apache_beam as beam

    cutoffs = (
        docs
        | "LangPriority" >> beam.Map(lambda d: (d["lang"], sample_priority(seed, d["id"])))
        | "SmallestPerLang" >> beam.combiners.Top.SmallestPerKey(rows_per_lang)
        | "Cutoff" >> beam.MapTuple(lambda lang, smallest: (lang, max(smallest)))
    )
    return docs | "KeepBelowCutoff" >> beam.Filter(
        lambda d, cutoff: sample_priority(seed, d["id"]) <= cutoff[d["lang"]],
        cutoff=beam.pvalue.AsDict(cutoffs),
    )


def _read_columns(files: list[Path]) -> list[str]:
    """``content`` plus ``id`` / ``lang`` when every file has them (else they are derived)."""
    columns = ["content"]
    schemas = [set(pq.read_schema(f).names) for f in files]
    for file, names in zip(files, schemas, strict=True):
        if "content" not in names:
            raise ValueError(f"{file}: no 'content' column (columns: {sorted(names)})")
    columns += [c for c in ("lang", *ID_COLUMNS) if all(c in names for names in schemas)]
    return columns


def summarize(output_dir: Path, rows_per_lang: int) -> dict:
    """Rows written per language (read back from the sample), with the languages that fell short."""
    counts: Counter[str] = Counter()
    for file in sorted(output_dir.glob("sample-*.parquet")):
        counts.update(pq.read_table(file, columns=["lang"]).column("lang").to_pylist())
    short = {lang: n for lang, n in sorted(counts.items()) if n < rows_per_lang}
    for lang, n in short.items():
        log.warning("language %s has only %d rows (< %d asked): took all of them", lang, n, rows_per_lang)
    return {"rows_per_lang": rows_per_lang, "rows": dict(sorted(counts.items())), "took_all": short}


def run_sample(
    inputs: Iterable[str | Path] | str | Path,
    output_dir: str | Path,
    rows_per_lang: int = DEFAULT_ROWS_PER_LANG,
    seed: int = 0,
    num_shards: int = 1,
    pipeline_args: list[str] | None = None,
) -> dict:
    """Run the sampling pipeline (locally unless ``--runner`` is given: ``pipeline.runners``) and write the summary."""
    import apache_beam as beam  # here, not at the top: `--help` needs no Beam
    from apache_beam.options.pipeline_options import PipelineOptions

    if rows_per_lang < 1:
        raise ValueError("rows_per_lang must be at least 1")
    files = resolve_parquet_files(inputs)
    columns = _read_columns(files)
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("sample-*.parquet"):  # a rerun must not mix with a previous sample
        old.unlink()
    from pipeline.runners import make_runner

    options = PipelineOptions(pipeline_args or [])
    with beam.Pipeline(runner=make_runner(options), options=options) as pipeline:
        _ = (
            pipeline
            | "Files" >> beam.Create([str(f) for f in files])
            | "Read" >> beam.io.ReadAllFromParquet(with_filename=True, columns=columns)
            | "ToSampleRow" >> beam.Map(to_sample_row)
            | "Sample" >> beam.ptransform_fn(_sample_rows_per_lang)(rows_per_lang, seed)
            | "Write"
            >> beam.io.WriteToParquet(
                str(out / "sample"), SAMPLE_SCHEMA, file_name_suffix=".parquet", num_shards=num_shards
            )
        )
    summary = {"seed": seed, "input_files": len(files), **summarize(out, rows_per_lang)}
    (out / "sample_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def build_parser() -> CliParser:
    parser = CliParser(prog="python -m tokenizer.sample_data", description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", nargs="+", required=True, help="curated data/ dir, parquet files or globs")
    parser.add_argument("--output", required=True, help="directory for sample-*.parquet")
    parser.add_argument(
        "--rows_per_lang",
        type=parse_count,
        default=DEFAULT_ROWS_PER_LANG,
        help="rows kept per language, e.g. 200000 or 200k",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the row choice")
    parser.add_argument("--num_shards", type=int, default=1, help="output parquet files (0: runner decides)")
    parser.epilog = BEAM_HELP.format(prog=parser.prog)
    parser.add_argument("--help_beam", action=BeamHelpAction)
    return parser


def main(argv: list[str] | None = None) -> None:
    args, beam_args = parse_beam_command(build_parser(), argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    summary = run_sample(args.input, args.output, args.rows_per_lang, args.seed, args.num_shards, beam_args)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    run_cli(main, "tokenizer.sample_data")
