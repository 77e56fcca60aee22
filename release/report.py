"""Write ``OUT/report.html``: one self-contained page that shows what the run did.

Plots are inline SVG (``release.charts``: no network, no JavaScript, no external file), so the page can be
attached to an issue or uploaded next to the data. Score histograms read only the score columns of a
bounded, evenly spread sample of ``data/`` (``max_rows_per_lang``), plus the scores the ledger recorded for
removed documents, so both sides of each threshold are visible without loading the dataset.
"""

from __future__ import annotations

import html
import json
import math
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from pipeline import store
from pipeline.output_files import iter_column, languages, ledger_details, load_stats, parquet_files
from pipeline.stages.near_dedup import LARGEST_CLUSTERS, NEAR_STAGES
from pipeline.stages.near_dedup import largest_clusters as near_largest_clusters
from release.card import (
    benchmark_matches,
    input_origin,
    pii_counts,
    stage_table,
    wall_time,
)
from release.charts import Panel, Series, bar_panel, figure, histogram_panel

MAX_ROWS_PER_LANG = 50_000
LANG_COLORS = {"python": "#3572A5", "java": "#b07219", "javascript": "#d4b000"}
OTHER_COLORS = (
    "#937860",
    "#da8bc3",
    "#8c8c8c",
    "#ccb974",
    "#64b5cd",
)  # languages without a colour of their own
# score column -> (title, stage whose ledger detail may hold it, log scale)
SCORES = {
    "avg_line_length": ("average line length", "basic", True),
    "max_line_length": ("maximum line length", "basic", True),
    "alphanum_fraction": ("alphanumeric fraction", "basic", False),
    "comment_ratio": ("comment-to-code ratio", "comments", False),
    "char_token_ratio": ("characters per token", "fertility", False),
    "score_ppl": ("model perplexity", "score", True),
}


def thresholds(config: dict, column: str, lang: str | None = None) -> list[tuple[float, str]]:
    """(value, label) threshold lines for a score column, from the resolved config of the run."""
    stages = config.get("stages", {})

    def on(name: str) -> dict:
        section = stages.get(name, {})
        return section if section.get("enabled", False) else {}

    basic, comments, fertility = on("basic"), on("comments"), on("fertility")
    lines: list[tuple[float, str]] = []
    if column == "avg_line_length" and "max_avg_line_length" in basic:
        lines.append((float(basic["max_avg_line_length"]), "basic: max"))
    if column == "max_line_length" and "max_line_length" in basic:
        lines.append((float(basic["max_line_length"]), "basic: max"))
    if column == "alphanum_fraction" and "min_alphanum_fraction" in basic:
        lines.append((float(basic["min_alphanum_fraction"]), "basic: min"))
    if column == "comment_ratio":
        lines += [
            (float(comments[k]), f"comments: {k[:3]}") for k in ("min_ratio", "max_ratio") if k in comments
        ]
    if column == "char_token_ratio":
        cutoffs = fertility.get("cutoffs", {})
        lines += [(float(v), f"{k} cutoff") for k, v in sorted(cutoffs.items()) if lang in (None, k)]
    return lines


def sample_scores(
    out_dir: str | Path, columns: list[str], max_rows_per_lang: int = MAX_ROWS_PER_LANG
) -> dict:
    """{lang: {column: [values]}}: an evenly spread sample, reading only the requested columns."""
    samples: dict[str, dict[str, list]] = {}
    for lang in languages(out_dir):
        files = parquet_files(store.join(out_dir, "data", lang))
        per_file = math.ceil(max_rows_per_lang / max(len(files), 1))
        values: dict[str, list] = defaultdict(list)
        for path in files:
            taken = 0
            for batch in iter_column([path], columns, batch_size=min(per_file, 65536)):
                room = per_file - taken
                for name, column in batch.items():
                    values[name] += [v for v in column[:room] if v is not None]
                taken += min(room, len(next(iter(batch.values()), [])))
                if taken >= per_file:
                    break
        samples[lang] = dict(values)
    return samples


def waterfall_figure(stats: dict) -> str:
    """Docs and MB per language: input, what each stage removed (floating bars), what is kept."""
    stages = [s for s in stats.get("stages", [])]
    langs = sorted({lang for s in stages for lang in s.get("langs", {})})
    width, height = 460, 350
    parts: list[str] = []
    for col, lang in enumerate(langs):
        for row, (key, unit, scale) in enumerate((("docs", "documents", 1.0), ("bytes", "MB", 1e6))):
            first = stages[0]["langs"].get(lang, {})
            level = first.get(f"{key}_in", 0) / scale
            labels, bottoms, removed = ["input"], [0.0], [0.0]
            start = level
            for stage in stages:
                lang_row = stage["langs"].get(lang, {})
                gone = sum(r.get(key, 0) for r in lang_row.get("removed", {}).values()) / scale
                if key == "bytes":  # PII redaction changes sizes: follow the recorded level
                    gone = (lang_row.get("bytes_in", 0) - lang_row.get("bytes_out", 0)) / scale
                level -= gone
                labels.append(stage["name"])
                bottoms.append(level)
                removed.append(gone)
            labels.append("kept")
            bottoms.append(0.0)
            removed.append(0.0)
            blank = [0.0] * len(labels)
            series = [
                Series(None, "#4c72b0", [start, *blank[1:]]),
                Series(None, "#dd8452", removed, bottoms=bottoms),
                Series(None, "#55a868", [*blank[:-1], level]),
            ]
            panel = Panel(col * width, row * height, width, height, f"{lang}: {unit}")
            parts += bar_panel(panel, labels, series, rotate=60)
    return figure(width * max(len(langs), 1), 2 * height, parts)


def removed_scores(out_dir: str | Path, column: str, stage: str) -> list[float]:
    """Scores the ledger recorded for documents a stage removed.

    Filters write either ``detail[column]`` (comments: ``comment_ratio``) or, when the reason names the
    score, ``detail["value"]`` (basic: reason ``max_line_length``, detail ``{"value", "threshold"}``).
    """
    values = []
    for batch in iter_column(parquet_files(store.join(out_dir, "removed", stage)), ["reason", "detail"]):
        for reason, text in zip(batch.get("reason", []), batch.get("detail", []), strict=False):
            detail = json.loads(text) if text else {}
            value = detail.get(column, detail.get("value") if reason == column else None)
            if isinstance(value, int | float) and not isinstance(value, bool):
                values.append(float(value))
    return values


def histogram_figure(out_dir: str | Path, stats: dict, samples: dict) -> str | None:
    """One histogram per score column present: kept documents per language, removed ones in grey, thresholds.
    Values that are not finite (a NaN score) cannot be placed on an axis and are left out."""
    columns = []
    for column in SCORES:
        kept = {lang: _finite(samples[lang].get(column, [])) for lang in samples}
        if any(kept.values()):
            columns.append((column, kept, _finite(removed_scores(out_dir, column, SCORES[column][1]))))
    if not columns:
        return None
    width, height = 900, 280
    parts: list[str] = []
    for number, (column, kept, removed) in enumerate(columns):
        title, stage, log = SCORES[column]
        everything = [v for values in kept.values() for v in values] + removed
        low, high = min(everything), max(everything)
        positive = log and low > 0
        if positive and high > low:
            edges = [low * (high / low) ** (i / 50) for i in range(51)]
        elif high > low:
            edges = np.linspace(low, high, 51).tolist()
        else:
            edges = [low - 0.5, low + 0.5]
        series = [
            Series(
                lang,
                _lang_color(lang, k),
                _counts(values, edges),
                step=True,
            )
            for k, (lang, values) in enumerate(kept.items())
            if values
        ]
        if removed:
            series.append(Series(f"removed by {stage}", "#999999", _counts(removed, edges), opacity=0.5))
        panel = Panel(0, number * height, width, height, f"{title} ({column})", "documents")
        lines = thresholds(stats.get("config", {}), column)
        parts += histogram_panel(panel, edges, series, positive, lines)
    return figure(width, height * len(columns), parts)


def _finite(values: list[float]) -> list[float]:
    return [v for v in values if math.isfinite(v)]


def _lang_color(lang: str, k: int) -> str:
    """A language's colour; the ``k``-th language without one of its own gets the ``k``-th spare."""
    return LANG_COLORS.get(lang, OTHER_COLORS[k % len(OTHER_COLORS)])


def _counts(values: list[float], edges: list[float]) -> list[float]:
    return np.histogram(values, bins=edges)[0].tolist()


def _bar_figure(counts: Counter, title: str, ylabel: str, log: bool = False) -> str | None:
    """Stacked bars: first key on the x axis, second key (language) stacked."""
    if not counts:
        return None
    groups = sorted({k[0] for k in counts}, key=str)
    langs = sorted({k[1] for k in counts})
    bottom = [0] * len(groups)
    series = []
    for k, lang in enumerate(langs):
        heights = [counts.get((g, lang), 0) for g in groups]
        color = _lang_color(lang, k)
        series.append(Series(lang, color, heights, bottoms=list(bottom)))
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    width = max(500, 90 * len(groups) + 200)
    panel = Panel(0, 0, width, 360, title, ylabel)
    return figure(width, 360, bar_panel(panel, [str(g) for g in groups], series, log=log))


def cluster_sizes(out_dir: str | Path) -> Counter[tuple[int, str]]:
    """(cluster size, lang) -> number of near-duplicate clusters, from the near-dedup ledgers."""
    clusters: dict[tuple[str, str, str], int] = {}
    for stage in NEAR_STAGES:
        for lang, detail in ledger_details(out_dir, stage):
            if "duplicate_of" in detail:
                kept = detail.get("cluster_kept", detail["duplicate_of"])
                clusters[(stage, kept, lang)] = int(detail.get("cluster_size", 0))
    return Counter((size, lang) for (_, _, lang), size in clusters.items())


def largest_clusters(out_dir: str | Path) -> list[tuple[str, int, str, str]]:
    """(stage, size, kept id, a member) of the largest near-duplicate clusters of both near-dedup stages."""
    rows = [
        (stage, c["size"], c["kept"], c["member"])
        for stage in NEAR_STAGES
        for c in near_largest_clusters(str(out_dir), stage)
    ]
    return sorted(rows, key=lambda r: (-r[1], r[0], r[2]))[:LARGEST_CLUSTERS]


def throughput_rows(stats: dict) -> list[tuple[str, float, float, float]]:
    """(stage, MB in, CPU seconds, MB per CPU-second) per stage whose CPU time was measured
    (``cpu_s`` null means the runner reported none: left out, never shown as 0)."""
    rows = []
    for stage in stats.get("stages", []):
        if stage.get("cpu_s") is None:
            continue
        megabytes = sum(r.get("bytes_in", 0) for r in stage.get("langs", {}).values()) / 1e6
        cpu = float(stage["cpu_s"])
        rows.append((stage["name"], megabytes, cpu, megabytes / cpu if cpu > 0 else 0.0))
    return rows


def throughput_figure(stats: dict) -> str | None:
    rows = [r for r in throughput_rows(stats) if r[2] > 0]
    if not rows:
        return None
    series = [Series(None, "#8172b3", [r[3] for r in rows])]
    panel = Panel(0, 0, 800, 340, "throughput per stage (input MB / CPU seconds)", "MB per CPU-second")
    return figure(800, 340, bar_panel(panel, [r[0] for r in rows], series, rotate=45))


def _markdown_table_to_html(lines: list[str]) -> str:
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines if not line.startswith("|---")]
    head, *body = cells
    out = ["<table><thead><tr>", *(f"<th>{html.escape(c)}</th>" for c in head), "</tr></thead><tbody>"]
    for row in body:
        out += ["<tr>", *(f"<td>{html.escape(c)}</td>" for c in row), "</tr>"]
    return "".join(out + ["</tbody></table>"])


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:1400px;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{font-size:1.25em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.8em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em}
td{text-align:right}td:first-child,td:nth-child(2){text-align:left}th{background:#f3f3f3}
figure{margin:.5em 0}svg{max-width:100%;height:auto}.muted{color:#777}
"""


def render_report(out_dir: str | Path, max_rows_per_lang: int = MAX_ROWS_PER_LANG) -> str:
    """The report's HTML text."""
    out = str(out_dir).rstrip("/")
    stats = load_stats(out)
    samples = sample_scores(out, list(SCORES), max_rows_per_lang)
    sampled = sum(len(next(iter(v.values()), [])) for v in samples.values())
    inp = stats.get("input", {})
    last = stats["stages"][-1]["langs"] if stats.get("stages") else {}
    kept_docs = sum(r.get("docs_out", 0) for r in last.values())
    kept_bytes = sum(r.get("bytes_out", 0) for r in last.values())

    def section(title: str, figure: str | None, note: str = "") -> str:
        body = (
            f"<figure>{figure}</figure>" if figure else "<p class=muted>nothing recorded in this output</p>"
        )
        return f"<h2>{html.escape(title)}</h2>{f'<p>{html.escape(note)}</p>' if note else ''}{body}"

    largest = largest_clusters(out)
    throughput = "".join(
        f"<tr><td>{html.escape(n)}</td><td>{mb:,.1f}</td><td>{cpu:,.1f}</td><td>{rate:,.2f}</td></tr>"
        for n, mb, cpu, rate in throughput_rows(stats)
    )
    parts = [
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
        '<meta name=viewport content="width=device-width,initial-scale=1"><link rel=icon href="data:,">',
        f"<title>stackcurate report: {html.escape(str(stats.get('preset', '')))}</title><style>{CSS}</style></head><body>",
        f"<h1>stackcurate run report <span class=muted>({html.escape(str(stats.get('preset', 'custom')))})</span></h1>",
        f"<p>Input {inp.get('docs', 0):,} files, {inp.get('bytes', 0) / 1e6:,.1f} MB, "
        f"{html.escape(input_origin(inp))}; kept {kept_docs:,} files, "
        f"{kept_bytes / 1e6:,.1f} MB. Runner {html.escape(str(stats.get('runner', '?')))}, "
        f"{wall_time(stats)}.</p>",
        section("Waterfall: documents and bytes per stage and language", waterfall_figure(stats)),
        "<h2>Removed per stage and language</h2>",
        _markdown_table_to_html(stage_table(stats)),
        section(
            "Score distributions and thresholds",
            histogram_figure(out, stats, samples),
            f"Kept documents: a sample of {sampled:,} rows from data/; removed documents: scores from the ledger.",
        ),
        section(
            "Near-duplicate cluster sizes",
            _bar_figure(cluster_sizes(out), "clusters by size", "clusters", True),
        ),
        (
            "<h2>Largest near-duplicate clusters</h2><table><thead><tr><th>stage</th><th>documents</th>"
            "<th>kept id</th><th>a member</th></tr></thead><tbody>"
            + "".join(
                f"<tr><td>{html.escape(stage)}</td><td>{size:,}</td><td>{html.escape(kept)}</td>"
                f"<td>{html.escape(member)}</td></tr>"
                for stage, size, kept, member in largest
            )
            + "</tbody></table>"
            if largest
            else ""  # no near-dedup removals: the cluster-size section above already says so
        ),
        section("PII redacted, by type", _bar_figure(pii_counts(out), "values redacted by type", "values")),
        section(
            "Decontamination matches, by benchmark",
            _bar_figure(benchmark_matches(out), "files removed by benchmark", "files"),
        ),
        section("Throughput per stage", throughput_figure(stats)),
        "<table><thead><tr><th>stage</th><th>MB in</th><th>CPU s</th><th>MB / CPU-s</th></tr></thead>"
        f"<tbody>{throughput}</tbody></table>",
        "<h2>Configuration</h2><pre>" + html.escape(json.dumps(stats.get("config", {}), indent=2)) + "</pre>",
        "</body></html>",
    ]
    return "\n".join(parts)


def write_report(out_dir: str | Path, max_rows_per_lang: int = MAX_ROWS_PER_LANG) -> str:
    """Write ``OUT/report.html`` (any filesystem) and return its path."""
    text = render_report(out_dir, max_rows_per_lang)
    return store.write_text(store.join(out_dir, "report.html"), text)
