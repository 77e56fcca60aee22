"""Command-line options of ``python -m pipeline.run``; every Beam option passes through.

Our options are a Beam ``PipelineOptions`` class, so they travel with the job;
:func:`run_parser` turns the same definitions into a real ``--help``, and
:func:`parse` refuses any argument that is neither ours nor a Beam option
(Beam itself would drop it without a word).
"""

from __future__ import annotations

from apache_beam.options.pipeline_options import (
    GoogleCloudOptions,
    PipelineOptions,
    TestOptions,
    TypeOptions,
)

from cli.command import (
    BEAM_HELP,
    BeamHelpAction,
    CliParser,
    beam_parser,
    canonical_argv,
    option_names,
    parse_beam_command,
)
from pipeline.config import PRESETS_DIR, VARIANTS_DIR
from pipeline.runners import MULTI_PROCESS_FROM_BYTES, choose_local_workers, configure, is_dataflow
from pipeline.stages import ORDER

PROG = "python -m pipeline.run"


def _names(folder) -> str:
    return ", ".join(sorted(p.stem for p in folder.glob("*.yaml")))


class CurateOptions(PipelineOptions):
    @classmethod
    def _add_argparse_args(cls, parser) -> None:
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
        parser.add_argument(
            "--config", default=None, help="YAML overlaid on the preset (stage keys as in it)"
        )
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
        parser.add_argument(
            "--publish_repo", default=None, help="publish the result to this Hub dataset repo"
        )
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
        epilog=f"{BEAM_HELP.format(prog=PROG)}\n\nLocal runs use one worker process per core (on Linux; "
        f"elsewhere from {MULTI_PROCESS_FROM_BYTES // 10**6} MB of input files, one in-process worker below; "
        "--direct_num_workers and --direct_running_mode choose otherwise). Progress goes to stderr every 10 s on a terminal, 30 s in "
        "a log (STACKCURATE_PROGRESS_INTERVAL=SECONDS; STACKCURATE_PROGRESS=0 turns it off).",
    )
    CurateOptions._add_argparse_args(parser)
    parser.add_argument("--help_beam", action=BeamHelpAction)
    return parser


def parse(argv: list[str]) -> PipelineOptions:
    """Parse argv; without ``--runner`` use the local FnApiRunner (never downloads Prism).

    An argument that is neither ours nor a Beam option is an error naming it
    (with the closest known option); dashed spellings become snake_case first.
    """
    parser = run_parser()
    curate, _ = parse_beam_command(parser, argv)
    if not curate.input or not curate.output:
        missing = [f for f, v in (("--input", curate.input), ("--output", curate.output)) if not v]
        verb = "are" if len(missing) > 1 else "is"
        raise SystemExit(f"pipeline.run: {' and '.join(missing)} {verb} required; see --help")
    argv = canonical_argv(argv, option_names(parser, beam_parser(PROG)))
    options = PipelineOptions(argv)
    # Beam's construction-time type-hint checks re-parse every option for each transform: 0.7 of the 2.4
    # CPU-s of building our graph, serial before any worker starts. The graph is ours and fixed, and a test
    # builds it with the checks on (tests/pipeline/test_run.py), so a run skips them.
    options.view_as(TypeOptions).pipeline_type_check = False
    if is_dataflow(options):
        check_dataflow(options)
    configure(options, argv)
    choose_local_workers(options, argv, input_bytes=None)  # pipeline.job.make_plan chooses again by size
    return options


def _is_local(path: str) -> bool:
    return all("://" not in part or part.startswith("file://") for part in path.split(","))


def check_dataflow(options: PipelineOptions) -> None:
    """Fail before Beam does: it would otherwise try to create a default bucket over the network."""
    gcp = options.view_as(GoogleCloudOptions)
    curate = options.view_as(CurateOptions)
    missing = [
        flag
        for flag, value in (
            ("--project", gcp.project),
            ("--region", gcp.region),
            ("--temp_location", gcp.temp_location),
        )
        if not value
    ]
    if missing:
        raise SystemExit(f"pipeline.run: DataflowRunner needs {', '.join(missing)}")
    if not gcp.temp_location.startswith("gs://"):
        raise SystemExit(
            f"pipeline.run: --temp_location must be a gs:// path for DataflowRunner, not {gcp.temp_location}"
        )
    if _is_local(curate.output):
        raise SystemExit(
            f"pipeline.run: --output must be a gs:// path for DataflowRunner, not {curate.output}"
        )
    if _is_local(curate.input) and not options.view_as(TestOptions).dry_run:
        raise SystemExit(
            f"pipeline.run: Dataflow workers cannot read the local --input {curate.input}; use gs:// or hf://"
        )
