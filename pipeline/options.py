"""Command-line options of ``python -m pipeline.run``; every Beam option passes through.

Our options are a Beam ``PipelineOptions`` class, so they travel with the job; they are defined once, in
``pipeline.arguments`` (whose ``run_parser`` is the ``--help``, answered without importing Beam), and
:func:`parse` refuses any argument that is neither ours nor a Beam option
(Beam itself would drop it without a word).
"""

from __future__ import annotations

from apache_beam.options.pipeline_options import (
    GoogleCloudOptions,
    PipelineOptions,
    PipelineOptionsT,
    TestOptions,
    TypeOptions,
)

from cli.command import (
    beam_parser,
    canonical_argv,
    option_names,
    parse_beam_command,
)
from pipeline.arguments import PROG, add_run_arguments, run_parser
from pipeline.runners import choose_local_workers, configure, is_dataflow


class CurateOptions(PipelineOptions):
    @classmethod
    def _add_argparse_args(cls, parser) -> None:
        add_run_arguments(parser)


class JobOptions(PipelineOptions):
    """The job's options, each view (``view_as``) made once per class and kept.

    Why: Beam asks the pipeline's options for a view for every transform it applies (santacoder: ~400
    times), and each new view builds an argparse parser and parses the whole command line again: ~0.25 s
    of building the graph, serial before any worker starts. Views share one store of values (Beam's
    ``_all_options``), so a kept view is what a new one would be; one is made again if that store has been
    replaced. Not pickled: a copy of the options starts without kept views.
    """

    def view_as(self, cls: type[PipelineOptionsT]) -> PipelineOptionsT:
        kept = self.__dict__.setdefault("_kept_views", {})  # __dict__: Beam's __setattr__ takes options only
        view = kept.get(cls)
        if view is None or view._all_options is not self._all_options:
            view = kept[cls] = super().view_as(cls)
        return view

    def __getstate__(self) -> dict:
        return {key: value for key, value in super().__getstate__().items() if key != "_kept_views"}


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
    options = JobOptions(argv)
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
