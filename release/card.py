"""Generate the Hub dataset card (``OUT/README.md``) from what the run actually did.

Everything in the card is read from the output directory (``stats.json``, the
ledger, the data shards' licence column), so the card cannot drift from the
data it describes. The YAML header declares one config per language, which is
what makes ``load_dataset("ORG/NAME", "python")`` work on the Hub.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import yaml

from pipeline import store
from pipeline.output_files import iter_column, languages, ledger_details, load_stats, parquet_files

LICENSE_LINK = "https://huggingface.co/datasets/bigcode/the-stack#licensing-information"
BENCHMARK_NAMES = {
    "humaneval": "HumanEval (docstrings and canonical solutions)",
    "mbpp": "MBPP (text and code, task ids 11-510)",
    "apps": "APPS (questions)",
    "multipl-e": "MultiPL-E prompts (HumanEval and MBPP; Python, Java, JavaScript)",
}
TOP_LICENSES = 25


def benchmark_matches(out_dir: str | Path) -> Counter[tuple[str, str]]:
    """(benchmark, lang) -> number of files removed by decontamination."""
    return Counter((d.get("benchmark", "unknown"), lang) for lang, d in ledger_details(out_dir, "decontam"))


def pii_counts(out_dir: str | Path) -> Counter[tuple[str, str]]:
    """(entity type, lang) -> number of values redacted."""
    counts: Counter[tuple[str, str]] = Counter()
    for lang, row in ledger_details(out_dir, "pii", folder="modified", column="counts"):
        for kind, n in row.items():
            counts[(kind, lang)] += int(n)
    return counts


def license_counts(out_dir: str | Path) -> Counter[str]:
    """Files per source licence (a file with several licences counts for each), over all kept data."""
    counts: Counter[str] = Counter()
    for batch in iter_column(parquet_files(store.join(out_dir, "data")), ["max_stars_repo_licenses"]):
        for licenses in batch.get("max_stars_repo_licenses", []):
            counts.update(licenses if isinstance(licenses, list) else [licenses or "unknown"])
    return counts


def size_category(n: int) -> str:
    bounds = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")]
    bounds += [(10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B")]
    return next((label for bound, label in bounds if n < bound), "1B<n<10B")


def source_datasets(stats: dict) -> list[str]:
    """Hub dataset ids the input came from (``hf://datasets/ORG/NAME/...``)."""
    found = []
    for path in stats.get("input", {}).get("locations", []):
        if str(path).startswith("hf://datasets/"):
            parts = str(path)[len("hf://datasets/") :].split("/")
            if len(parts) >= 2:
                repo = f"{parts[0]}/{parts[1].split('@')[0]}"
                if repo not in found:
                    found.append(repo)
    return found


def _header(stats: dict, langs: list[str], kept_docs: int, include_ledger: bool) -> dict:
    configs = [
        {"config_name": lang, "data_files": [{"split": "train", "path": f"data/{lang}/*.parquet"}]}
        for lang in langs
    ]
    if configs:
        configs[0]["default"] = True
    if include_ledger:
        configs.append(
            {"config_name": "removed", "data_files": [{"split": "train", "path": "removed/*/*.parquet"}]}
        )
    header = {
        "pretty_name": f"stackcurate {stats.get('preset', '')} ({', '.join(langs)})",
        "license": "other",
        "license_name": "the-stack-permissive-licenses",
        "license_link": LICENSE_LINK,
        "language": ["code"],
        "size_categories": [size_category(kept_docs)],
        "task_categories": ["text-generation"],
        "tags": ["code", "the-stack", "stackcurate", f"preset:{stats.get('preset', 'custom')}", *langs],
        "configs": configs,
    }
    sources = source_datasets(stats)
    if sources:
        header["source_datasets"] = sources
    return header


def _pct(part: float, whole: float) -> str:
    return f"{100.0 * part / whole:.2f}%" if whole else "-"


def stage_table(stats: dict) -> list[str]:
    """Markdown rows: docs and bytes removed per stage and language, with the reasons."""
    lines = [
        "| stage | language | docs in | docs removed | % docs | MB removed | % bytes | reasons |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for stage in stats.get("stages", []):
        for lang, row in sorted(stage.get("langs", {}).items()):
            removed = row.get("removed", {})
            docs = sum(int(r.get("docs", 0)) for r in removed.values())
            nbytes = sum(int(r.get("bytes", 0)) for r in removed.values())
            reasons = ", ".join(f"{k}: {v.get('docs', 0):,}" for k, v in sorted(removed.items())) or "-"
            lines.append(
                f"| {stage['name']} | {lang} | {row.get('docs_in', 0):,} | {docs:,} | "
                f"{_pct(docs, row.get('docs_in', 0))} | {nbytes / 1e6:,.2f} | "
                f"{_pct(nbytes, row.get('bytes_in', 0))} | {reasons} |"
            )
    return lines


def render_card(out_dir: str | Path, repo_id: str | None = None, include_ledger: bool = False) -> str:
    """The card's text (YAML header + Markdown body)."""
    out = str(out_dir).rstrip("/")
    stats = load_stats(out)
    repo = repo_id or out.rsplit("/", 1)[-1]
    langs = languages(out)
    last = stats["stages"][-1]["langs"] if stats.get("stages") else {}
    kept_docs = sum(int(r.get("docs_out", 0)) for r in last.values())
    kept_bytes = sum(int(r.get("bytes_out", 0)) for r in last.values())
    config = stats.get("config", {})
    body = [
        f"# {repo}",
        "",
        f"Code pretraining data for {', '.join(langs)}, curated with the `{stats.get('preset', 'custom')}` preset "
        "of stackcurate (the SantaCoder recipe on The Stack v1.1). Every removed file has a ledger row "
        "(`removed/<stage>/`) saying why" + (", included in this repo." if include_ledger else "."),
        "",
        f"- input: {stats.get('input', {}).get('docs', 0):,} files, {stats.get('input', {}).get('bytes', 0) / 1e6:,.1f} MB "
        f"of code, {input_origin(stats.get('input', {}))}",
        f"- kept: {kept_docs:,} files, {kept_bytes / 1e6:,.1f} MB",
        "- per language: "
        + ", ".join(f"{lang} {int(last.get(lang, {}).get('docs_out', 0)):,} files" for lang in langs),
        "",
        "## How to load",
        "",
        "```python",
        "from datasets import load_dataset",
        "",
        f'ds = load_dataset("{repo}", "{langs[0] if langs else "python"}", split="train")',
        f'stream = load_dataset("{repo}", "{langs[-1] if langs else "python"}", split="train", streaming=True)',
        "```",
        "",
        f"Configs: {', '.join(f'`{lang}`' for lang in langs)}"
        + (", `removed` (the ledger)" if include_ledger else ""),
        "",
        "## What each stage removed",
        "",
        *stage_table(stats),
        "",
        "Score columns (`avg_line_length`, `max_line_length`, `alphanum_fraction`, and the scores of the stages "
        "that ran, e.g. `comment_ratio`) are kept in the data so thresholds can be re-decided without recomputing.",
        "",
    ]
    body += _decontam_section(out, config)
    body += _pii_section(out)
    body += _license_section(out)
    body += [
        "## Configuration",
        "",
        f"Preset `{stats.get('preset', 'custom')}`, resolved configuration as run:",
        "",
        "```yaml",
        yaml.safe_dump(config, sort_keys=False).rstrip(),
        "```",
        "",
        f"Runner `{stats.get('runner', 'unknown')}`, {wall_time(stats)}. Versions: "
        + ", ".join(f"{k} {v}" for k, v in sorted(stats.get("versions", {}).items())),
        "",
    ]
    header = yaml.safe_dump(_header(stats, langs, kept_docs, include_ledger), sort_keys=False)
    return f"---\n{header}---\n\n" + "\n".join(body)


def _decontam_section(out: str, config: dict) -> list[str]:
    decontam = config.get("stages", {}).get("decontam", {})
    if not decontam.get("enabled", False):
        return ["## Decontamination", "", "Not run for this output.", ""]
    listed = decontam.get("benchmarks") or list(BENCHMARK_NAMES)
    names = [f"`{b}`: {BENCHMARK_NAMES.get(str(b), str(b))}" for b in listed]
    lines = ["## Decontamination", "", "Files containing any of these benchmark texts were removed:", ""]
    lines += [f"- {name}" for name in names]
    matches = benchmark_matches(out)
    if matches:
        lines += ["", "| benchmark | language | files removed |", "|---|---|---:|"]
        lines += [f"| {b} | {lang} | {n:,} |" for (b, lang), n in sorted(matches.items())]
    return lines + [""]


def _pii_section(out: str) -> list[str]:
    counts = pii_counts(out)
    if not counts:
        return []
    lines = ["## PII redaction", "", "Values replaced (emails, IP addresses, keys and secrets):", ""]
    lines += ["| type | language | values redacted |", "|---|---|---:|"]
    lines += [f"| {kind} | {lang} | {n:,} |" for (kind, lang), n in sorted(counts.items())]
    return lines + [""]


def _license_section(out: str) -> list[str]:
    counts = license_counts(out)
    lines = [
        "## Licences of the sources",
        "",
        "The files keep the licences of their repositories (The Stack v1.1 holds permissively licensed code only); "
        f"see {LICENSE_LINK}. Files per licence in this output:",
        "",
        "| licence | files |",
        "|---|---:|",
    ]
    common = counts.most_common(TOP_LICENSES)
    lines += [f"| {name} | {n:,} |" for name, n in common]
    rest = sum(counts.values()) - sum(n for _, n in common)
    if rest:
        lines.append(f"| (other) | {rest:,} |")
    return lines + [""]


def wall_time(stats: dict) -> str:
    """The run's wall time, or that it was not recorded (finished by ``pipeline.finish``)."""
    wall = stats.get("wall_time_s")
    return f"wall time {float(wall):,.1f} s" if wall is not None else "wall time not recorded"


def input_origin(recorded: dict) -> str:
    """Where the input came from, as a card may say it: locations, file count and size, no local paths."""
    where = ", ".join(f"`{p}`" for p in recorded.get("locations", [])) or "unknown"
    return f"read from {where} ({recorded.get('files', 0):,} files, {recorded.get('file_bytes', 0) / 1e9:,.2f} GB)"


def write_card(out_dir: str | Path, repo_id: str | None = None, include_ledger: bool = False) -> str:
    """Write ``OUT/README.md`` (any filesystem) and return its path."""
    path = store.join(out_dir, "README.md")
    store.write_text(path, render_card(out_dir, repo_id=repo_id, include_ledger=include_ledger))
    return path
