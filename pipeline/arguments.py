"""``python -m pipeline.run``'s own options and its ``--help``, without Beam.

Why: importing Beam takes ~1.5 s, and ``--help`` should answer at once (``pipeline.run`` prints it before
anything heavy is imported). ``pipeline.options`` turns these same definitions into the Beam
``PipelineOptions`` class the run parses (``CurateOptions``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cli.command import BEAM_HELP, BeamHelpAction, CliParser
from pipeline.preset_files import PRESETS_DIR, VARIANTS_DIR
from pipeline.stages import ORDER
from pipeline.warm_workers import MULTI_PROCESS_FROM_BYTES

PROG = "python -m pipeline.run"


def _names(folder: Path) -> str:
    return ", ".join(sorted(p.stem for p in folder.glob("*.yaml")))


def add_run_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """Our options, on a plain parser (``--help``) or Beam's (``CurateOptions``)."""
    parser.add_argument(
        "--input",
        help="parquet/jsonl(.gz) files, directories or globs (comma-separated); "
        "local, gs://, hf://datasets/... or any fsspec URL",
    )
    parser.add_argument("--output", help="output directory: local, gs:// or s3://")
    parser.add_argument(
        "--preset",
        default="stack-base",
        help=f"preset expression NAME[+VARIANT...], e.g. santacoder or stack-base+stars; "
        f"presets: {_names(PRESETS_DIR)}; variants: {_names(VARIANTS_DIR)}",
    )
    parser.add_argument("--config", default=None, help="YAML overlaid on the preset (stage keys as in it)")
    parser.add_argument(
        "--stages",
        default=None,
        help=f"comma-separated stages to run, the others off (validate always runs); stages: {', '.join(ORDER)}",
    )
    parser.add_argument(
        "--benchmarks_dir",
        default=None,
        help="local benchmark files for decontamination (default: load from the Hub)",
    )
    parser.add_argument("--optout_list", default=None, help="opt-out list (optouts.jsonl or plain text)")
    parser.add_argument("--tokenizer", default=None, help="tokenizer.json, its directory or a Hub id")
    parser.add_argument(
        "--tokenize_output",
        default=None,
        help="after the run, tokenize data/ into Megatron shards PREFIX.bin/.idx (needs --tokenizer)",
    )
    parser.add_argument("--tokenize_per_lang", action="store_true", help="one shard set per language")
    parser.add_argument("--publish_repo", default=None, help="publish the result to this Hub dataset repo")
    parser.add_argument("--no_report", action="store_true", help="skip report.html and the dataset card")
    parser.add_argument("--quiet", action="store_true", help="no summary table on stdout")


def run_parser() -> CliParser:
    """The ``--help`` of ``pipeline.run``: our options (from :class:`CurateOptions`), then a pointer to Beam's."""
    parser = CliParser(
        prog=PROG,
        usage=f"{PROG} --input IN --output OUT [--preset NAME] [--config my.yaml] [options] [beam options]",
        description="Curate Stack-format code: read IN, run the preset's stages in order, and write kept "
        "documents (data/), one ledger row per removed document (removed/), stats.json, report.html and a "
        "dataset card to OUT. Without --runner it runs on this machine (Beam's FnApiRunner) and downloads "
        "nothing but what the config asks for (the decontamination benchmarks come from the Hub unless "
        "--benchmarks_dir or a prepared file is given).",
        epilog=f"{BEAM_HELP.format(prog=PROG)}\n\nLocal runs use one worker process per core, as many as the "
        "memory available holds (~0.5 GB each; on Linux; "
        f"elsewhere from {MULTI_PROCESS_FROM_BYTES // 10**6} MB of input files, one in-process worker below; "
        "--direct_num_workers and --direct_running_mode choose otherwise). Progress goes to stderr every 10 s on a terminal, 30 s in "
        "a log (STACKCURATE_PROGRESS_INTERVAL=SECONDS; STACKCURATE_PROGRESS=0 turns it off).",
    )
    add_run_arguments(parser)
    parser.add_argument("--help_beam", action=BeamHelpAction)
    return parser
