"""Extract the decontamination strings once, for a run's config, into one file workers can read.

For Dataflow with Hub benchmarks: without it every worker downloads the
benchmarks itself (GBs for APPS). Then point the run at the file:

    python -m pipeline.prepare_decontam --preset santacoder --output gs://BUCKET/decontam/strings.jsonl.gz
    # my.yaml:  stages: {decontam: {source: gs://BUCKET/decontam/strings.jsonl.gz}}
    python -m pipeline.run --preset santacoder --config my.yaml ...

The file records the options it was made with; a run whose config differs
(benchmarks, whitelist, APPS split, ...) refuses it rather than matching a
different set of strings.
"""

from __future__ import annotations

from collections import Counter

from cli.command import CliParser, run_cli


def build_parser() -> CliParser:
    parser = CliParser(prog="python -m pipeline.prepare_decontam", description=__doc__)
    parser.add_argument("--output", required=True, help="a .jsonl or .jsonl.gz path, local or gs://")
    parser.add_argument(
        "--preset", default="stack-base", help="the run's preset expression (as pipeline.run --preset)"
    )
    parser.add_argument("--config", default=None, help="the run's --config overlay")
    parser.add_argument(
        "--benchmarks_dir", default=None, help="original-format files instead of the config's source"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from decontam.prepared import is_prepared, write_prepared  # after --help: these import Beam
    from pipeline.config import resolve
    from pipeline.stages.decontam import DecontamConfig, load_strings, string_options

    if not is_prepared(args.output):
        parser.error("--output must end in .jsonl or .jsonl.gz")
    cfg = resolve(args.preset, args.config).stages.get("decontam") or DecontamConfig()
    source = args.benchmarks_dir or cfg.source
    if is_prepared(source):
        parser.error(f"the config's decontam source is already a prepared file ({source})")
    strings = load_strings(cfg, source)
    write_prepared(args.output, strings, string_options(cfg))
    counts = ", ".join(f"{name} {n}" for name, n in Counter(s.benchmark for s in strings).items())
    print(f"{len(strings)} strings from {source} ({counts}) -> {args.output}")
    print(f"use it with:  stages: {{decontam: {{source: {args.output}}}}}")
    return 0


if __name__ == "__main__":
    run_cli(main, "pipeline.prepare_decontam")
