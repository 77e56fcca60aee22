"""Finishing an output: ``stats.json``, report and card from what the job wrote; safe to re-run.

A run keeps its bookkeeping in ``OUT/_work/``: ``plan.json`` (written by the
launcher before the job starts: config, input summary, where the parts go),
``counts.json`` and ``digest.txt`` (written by the job itself). Finishing
turns them into ``stats.json``, puts a staged output in place, writes the
report and the card and removes ``_work/``. The launcher does it after the
job; ``python -m pipeline.finish OUT`` does the same for a job whose launcher
died (on Dataflow the job goes on without it), and on a finished output
rebuilds only the report and the card. Either way it is idempotent.

An earlier finished output is never destroyed by a run that does not finish:
a run into a folder that holds one writes its parts under
``_work/staging/`` and they replace the old ones only here, once complete.
While a run writes in place (no earlier output), ``INCOMPLETE.txt`` at the
top says so until it is finished. Nor by a run whose output is wrong: a stage that
removed more than ``output.max_unparseable_share`` of its documents as
unparseable fails the finish before anything is promoted.
"""

from __future__ import annotations

import json
import logging
import posixpath
import time
from typing import Any

from cli.command import CliParser, parse_beam_command, run_cli
from pipeline import store
from pipeline.output_files import STATS_FILE, load_stats

log = logging.getLogger("stackcurate")

WORK_DIR = "_work"
STAGING_DIR = "staging"
PLAN_FILE = "plan.json"
INCOMPLETE_FILE = "INCOMPLETE.txt"
PART_FOLDERS = ("data", "removed", "modified")
SIDE_FILES = (STATS_FILE, "report.html", "README.md")
UNPARSEABLE = "unparseable"  # the ledger reason of a file a stage could not lex or parse
# Fewer unparseable documents than this never fail a job: on a small sample one or two edited files are
# a share of percents (the 1 MB built-in sample: 2 of 96), which says nothing about the input or the image.
MIN_UNPARSEABLE_DOCS = 10


class FinishError(RuntimeError):
    """The output cannot be finished (the job did not complete, this is not a pipeline output, or a
    stage's unparseable share passed ``output.max_unparseable_share``)."""


def work_dir(output: str) -> str:
    return store.join(output, WORK_DIR)


def has_finished_output(output: str) -> bool:
    return store.exists(store.join(output, STATS_FILE))


def public_argv(argv: list[str]) -> list[str]:
    """argv as a published stats.json may show it: local absolute paths reduced to their last name."""

    def clean(value: str) -> str:
        if value.startswith(("/", "~")) or value.startswith("file://"):
            return "local:" + (posixpath.basename(value.rstrip("/")) or value)
        return value

    out = []
    for arg in argv:
        if arg.startswith("--") and "=" in arg:
            key, value = arg.split("=", 1)
            out.append(f"{key}={clean(value)}")
        else:
            out.append(clean(arg))
    return out


def parts_root(output: str) -> str:
    """Where a run into ``output`` writes data/, removed/ and modified/: next to a finished output
    (``_work/staging``), else in place."""
    return store.join(work_dir(output), STAGING_DIR) if has_finished_output(output) else output


def start(output: str, plan: dict[str, Any], parts_root: str) -> None:
    """Prepare ``output`` for a run whose parts go to ``parts_root`` (from :func:`parts_root`).

    A finished output stays untouched; otherwise whatever an unfinished earlier run left is removed.
    """
    staged = parts_root != output
    store.delete_tree(work_dir(output))  # an earlier run's bookkeeping (finished or dead)
    if staged:
        where = f"{work_dir(output)} (the finished output in {output} stays until the new one is complete)"
    else:
        for name in (*PART_FOLDERS, *SIDE_FILES):
            store.delete_tree(store.join(output, name))
        where = output
        store.write_text(
            store.join(output, INCOMPLETE_FILE),
            f"This output is incomplete: a run started at {time.strftime('%Y-%m-%d %H:%M:%S %Z')} "
            "has not finished (or died).\nRe-run the command; if the Beam job itself finished, "
            f"python -m pipeline.finish {output} completes it.\n",
        )
    store.write_text(
        store.join(work_dir(output), PLAN_FILE),
        json.dumps({**plan, "parts_root": parts_root, "staged": staged}, indent=2) + "\n",
    )
    log.info("writing to %s", where)


def _assemble(plan: dict[str, Any], cpu: dict[str, float] | None, wall: float | None) -> dict[str, Any]:
    from pipeline import stats as stats_mod  # Beam and numba: not for `--help`
    from pipeline.stages.near_dedup import NEAR_STAGES, largest_clusters

    work = work_dir(plan["output"])
    enabled = plan["enabled"]
    missing = [
        n
        for n in ("digest.txt", *(["counts.json"] if enabled else []))
        if not store.exists(store.join(work, n))
    ]
    if missing:
        raise FinishError(
            f"{plan['output']}: the job has not finished ({', '.join(missing)} missing in {work}); "
            "re-run it, or wait for it and run python -m pipeline.finish again"
        )
    counts = json.loads(store.read_text(store.join(work, "counts.json"))) if enabled else []
    stages = stats_mod.assemble(counts, enabled)
    for stage in stages:
        seconds = None if cpu is None else cpu.get(stage["name"])
        stage["cpu_s"] = None if seconds is None else round(seconds, 3)  # null: not measured, never 0
        if stage["name"] in NEAR_STAGES:  # from the ledger: a runaway cluster shows in stats.json too
            stage["largest_clusters"] = largest_clusters(plan["parts_root"], stage["name"])
    unmeasured = [stage["name"] for stage in stages if stage["cpu_s"] is None]
    if cpu is not None and unmeasured:
        log.warning(
            "no CPU counter for stage(s) %s: their cpu_s in stats.json is null", ", ".join(unmeasured)
        )
    first = stages[0]["langs"].values() if stages else []
    last = stages[-1]["langs"].values() if stages else []
    return {
        "stages": stages,
        "input": {
            **plan["input"],
            "docs": sum(e["docs_in"] for e in first),
            "bytes": sum(e["bytes_in"] for e in first),
            "ids_digest": store.read_text(store.join(work, "digest.txt")),
        },
        "output": {"docs": sum(e["docs_out"] for e in last), "bytes": sum(e["bytes_out"] for e in last)},
        "preset": plan["preset"],
        "config": plan["config"],
        "versions": plan["versions"],
        "runner": plan["runner"],
        "argv": plan["argv"],
        "wall_time_s": round(wall, 2) if wall is not None else None,
        "cpu_recorded": cpu is not None,
        "cpu_unmeasured": unmeasured,
    }


def unparseable_shares(stages: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """stage -> (documents it removed as ``unparseable``, documents it received), for stages with any."""
    shares = {}
    for stage in stages:
        langs = stage["langs"].values()
        bad = sum(entry["removed"].get(UNPARSEABLE, {}).get("docs", 0) for entry in langs)
        if bad:
            shares[stage["name"]] = (bad, sum(entry["docs_in"] for entry in langs))
    return shares


def check_unparseable(stats: dict[str, Any], bound: float) -> None:
    """FinishError naming the first stage whose unparseable share passes ``bound``
    (``output.max_unparseable_share``): that many unlexable files means wrong input or a broken worker
    image, not code to filter, so the output must not replace a good one. Below
    ``MIN_UNPARSEABLE_DOCS`` unparseable documents the share is noise and never fails."""
    for name, (bad, received) in unparseable_shares(stats["stages"]).items():
        if bad >= MIN_UNPARSEABLE_DOCS and bad > bound * received:
            raise FinishError(
                f"stage {name}: {bad} of {received} documents ({bad / received:.2%}) unparseable, above "
                f"output.max_unparseable_share {bound}; the output was not finished (check the input and "
                "the worker image, or raise the bound)"
            )


def _promote(output: str, parts_root: str) -> None:
    """Replace the old parts with the staged ones, resumably.

    The staged folders are listed once into ``_work/promoting.json``, so an interrupted promotion
    resumed by ``pipeline.finish`` knows which folders were moved already (local renames) and
    which old folders have no new counterpart. Object stores copy, and the staged copy is deleted
    only with ``_work/`` at the very end.
    """
    marker = store.join(work_dir(output), "promoting.json")
    if store.exists(marker):
        staged_folders = json.loads(store.read_text(marker))
    else:
        staged_folders = [f for f in PART_FOLDERS if store.list_files(store.join(parts_root, f))]
        store.write_text(marker, json.dumps(staged_folders))
    for name in SIDE_FILES:
        store.delete_files([store.join(output, name)])
    for folder in PART_FOLDERS:
        staged, target = store.join(parts_root, folder), store.join(output, folder)
        if folder not in staged_folders:
            store.delete_tree(target)
        elif store.list_files(staged):
            store.delete_tree(target)
            if store.is_remote(output):
                store.copy_tree(staged, target)
            else:
                store.move_tree(staged, target)


def finish(
    output: str,
    cpu: dict[str, float] | None = None,
    wall: float | None = None,
    extras: bool = True,
    repo_id: str | None = None,
) -> dict[str, Any]:
    """Write ``stats.json`` (if the job's bookkeeping is there), then the report and the card."""
    output = output.rstrip("/")
    plan_path = store.join(work_dir(output), PLAN_FILE)
    if store.exists(plan_path):
        from pipeline.config import DEFAULT_MAX_UNPARSEABLE_SHARE

        plan = json.loads(store.read_text(plan_path))
        stats = _assemble(plan, cpu, wall)
        output_config = plan["config"].get("output", {})
        check_unparseable(stats, output_config.get("max_unparseable_share", DEFAULT_MAX_UNPARSEABLE_SHARE))
        if plan["staged"]:
            _promote(output, plan["parts_root"])
        store.write_text(store.join(output, STATS_FILE), json.dumps(stats, indent=2) + "\n")
        store.delete_tree(work_dir(output))
        store.delete_files([store.join(output, INCOMPLETE_FILE)])
    elif has_finished_output(output):
        stats = load_stats(output)
    else:
        raise FinishError(
            f"{output}: neither a finished output ({STATS_FILE}) nor a run's {WORK_DIR}/{PLAN_FILE}"
        )
    if extras:
        from release.card import write_card
        from release.report import write_report

        write_card(output, repo_id=repo_id)
        write_report(output)
    return stats


def build_parser() -> CliParser:
    parser = CliParser(
        prog="python -m pipeline.finish",
        description="Finish a pipeline output whose launcher died (stats.json, staged parts, report, card), "
        "or rebuild the report and card of a finished one. Safe to run again. Beam filesystem options "
        "(--s3_endpoint_url, ...) are accepted for outputs on object stores.",
    )
    parser.add_argument("output", help="the run's --output (local, gs://, s3://)")
    parser.add_argument("--no_report", action="store_true", help="only stats.json: no report.html or card")
    parser.add_argument(
        "--repo_id", default=None, help="the Hub repo id the card names (default: the output's name)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args, beam_args = parse_beam_command(build_parser(), argv)
    from apache_beam.options.pipeline_options import PipelineOptions  # after --help, which needs no Beam

    store.configure(PipelineOptions(beam_args))
    stats = finish(args.output, extras=not args.no_report, repo_id=args.repo_id)
    print(
        f"{args.output}: {stats['input']['docs']} docs in, {stats['output']['docs']} kept; "
        "stats, report and card written"
    )
    return 0


if __name__ == "__main__":
    run_cli(main, "pipeline.finish")
