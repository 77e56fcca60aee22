"""Command-line options of ``python -m pipeline.run``; every Beam option passes through."""

from __future__ import annotations

from apache_beam.options.pipeline_options import (
    DirectOptions,
    GoogleCloudOptions,
    PipelineOptions,
    StandardOptions,
    TestOptions,
)

# Measured on the santacoder preset (2-core machine): 20 MB in 57 s in_memory vs 67 s multi_processing with
# 2 workers; 80 MB in 123 s vs 157 s. Each extra process pays the heavy per-worker setup (Presidio,
# the decontamination automaton) and every element crosses gRPC, so one in-process worker wins here.
DEFAULT_LOCAL_WORKERS = 1
DEFAULT_RUNNING_MODE = "in_memory"


class CurateOptions(PipelineOptions):
    @classmethod
    def _add_argparse_args(cls, parser) -> None:
        parser.add_argument(
            "--input",
            help="parquet/jsonl(.gz) files, directories or globs (comma-separated); "
            "local, gs://, hf://datasets/... or any fsspec URL",
        )
        parser.add_argument("--output", help="output directory (local or gs://)")
        parser.add_argument(
            "--preset",
            default="stack-base",
            help="preset expression NAME[+VARIANT...], e.g. santacoder or stack-base+stars",
        )
        parser.add_argument("--config", default=None, help="YAML overlaid on the preset")
        parser.add_argument(
            "--stages", default=None, help="comma-separated stages to run (others off); validate always runs"
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


def parse(argv: list[str]) -> PipelineOptions:
    """Parse argv; without ``--runner`` use the local FnApiRunner (never downloads Prism)."""
    options = PipelineOptions(argv)
    curate = options.view_as(CurateOptions)
    if not curate.input or not curate.output:
        raise SystemExit("pipeline.run: --input and --output are required")
    runner = options.view_as(StandardOptions).runner
    if runner is not None and "dataflow" in str(runner).lower():
        check_dataflow(options)
    direct = options.view_as(DirectOptions)
    if runner is None:
        if not any(a.startswith("--direct_num_workers") for a in argv):
            direct.direct_num_workers = DEFAULT_LOCAL_WORKERS
        if not any(a.startswith("--direct_running_mode") for a in argv):
            direct.direct_running_mode = DEFAULT_RUNNING_MODE
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
