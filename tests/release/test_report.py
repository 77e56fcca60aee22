"""report.html: its numbers, that it is self-contained, and that a real headless browser renders it cleanly.

The browser check runs Debian's ``chromium`` headless with ``--enable-logging=stderr``, which logs every
console message (``console.error``, uncaught exceptions) as an ``INFO:CONSOLE`` line; a control page with a
deliberate error proves the detector works on the installed chromium. The screenshot is then checked for
the plot colours (not just "a file was written").
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from release.report import (
    cluster_sizes,
    histogram_figure,
    removed_scores,
    sample_scores,
    thresholds,
    throughput_rows,
    write_report,
)
from tests.pipeline.ship_fixtures import CONFIG, LANGS, make_fake_output

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
]


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, dict, str]:
    out = tmp_path_factory.mktemp("report") / "out"
    stats = make_fake_output(out, docs_per_lang=200)
    path = write_report(out)
    return out, stats, Path(path).read_text()


def test_report_is_self_contained(report):
    out, _, text = report
    assert (out / "report.html").stat().st_size < 2_000_000
    assert "<script" not in text  # nothing that could fail at run time
    references = re.findall(r'(?:src|href)\s*=\s*"?([^"\s>]+)', text)
    assert references and all(ref.startswith(("data:", "#")) for ref in references), references
    assert text.count("<svg") == 6  # waterfall, histograms, clusters, PII, decontam, throughput


def test_report_numbers_match_stats_and_ledger(report):
    out, stats, text = report
    assert "Input 600 files" in text and "kept 378 files" in text
    assert "<td>exact_dedup</td><td>java</td><td>187</td><td>18</td><td>9.63%</td>" in text
    for name, megabytes, cpu, rate in throughput_rows(stats):
        stage = next(s for s in stats["stages"] if s["name"] == name)
        assert cpu == stage["cpu_s"] and rate == pytest.approx(megabytes / cpu)
        assert f"<td>{name}</td><td>{megabytes:,.1f}</td><td>{cpu:,.1f}</td><td>{rate:,.2f}</td>" in text

    ledger = pq.read_table(out / "removed" / "near_dedup").to_pylist()
    clusters = {
        (json.loads(r["detail"])["duplicate_of"], r["lang"]): json.loads(r["detail"])["cluster_size"]
        for r in ledger
    }
    assert cluster_sizes(out) == Counter((size, lang) for (_, lang), size in clusters.items())
    assert sum(cluster_sizes(out).values()) == len(clusters) > 0


def test_removed_scores_read_both_ledger_detail_styles(report):
    out, _, _ = report
    basic = [json.loads(r["detail"])["value"] for r in pq.read_table(out / "removed" / "basic").to_pylist()]
    comments = [
        json.loads(r["detail"])["comment_ratio"]
        for r in pq.read_table(out / "removed" / "comments").to_pylist()
    ]
    assert removed_scores(out, "alphanum_fraction", "basic") == basic and len(basic) == 30
    assert removed_scores(out, "comment_ratio", "comments") == comments and len(comments) == 30
    assert (
        removed_scores(out, "max_line_length", "basic") == []
    )  # reason is alphanum_fraction, not this column


def test_histograms_leave_out_scores_that_are_not_finite(report):
    out, stats, _ = report
    samples = {"python": {"avg_line_length": [10.0, float("nan"), 20.0], "comment_ratio": [float("nan")]}}
    root = ET.fromstring(histogram_figure(out, stats, samples))
    titles = [
        t.text for t in root.iter("{http://www.w3.org/2000/svg}text") if t.text and t.text.endswith(")")
    ]
    assert titles == ["average line length (avg_line_length)"]  # comment_ratio had nothing to place


def test_thresholds_come_from_the_resolved_config():
    assert thresholds(CONFIG, "comment_ratio") == [(0.01, "comments: min"), (0.8, "comments: max")]
    assert thresholds(CONFIG, "max_line_length") == [(1000.0, "basic: max")]
    assert thresholds(CONFIG, "alphanum_fraction") == [(0.25, "basic: min")]
    assert thresholds(CONFIG, "char_token_ratio") == []  # fertility is off in this run
    on = json.loads(json.dumps(CONFIG))
    on["stages"]["fertility"]["enabled"] = True
    assert thresholds(on, "char_token_ratio", "java") == [(2.9, "java cutoff")]


def test_score_sample_is_bounded_and_reads_all_shards(tmp_path):
    out = tmp_path / "out"
    make_fake_output(out, docs_per_lang=200)
    sample = sample_scores(out, ["alphanum_fraction", "comment_ratio"], max_rows_per_lang=10)
    assert sorted(sample) == sorted(LANGS)
    for lang in LANGS:
        assert len(sample[lang]["alphanum_fraction"]) == 10  # 5 from each of the 2 shards
        first_rows = [
            pq.read_table(p, columns=["alphanum_fraction"]).column(0).to_pylist()[:5]
            for p in sorted((out / "data" / lang).glob("*.parquet"))
        ]
        assert sample[lang]["alphanum_fraction"] == first_rows[0] + first_rows[1]


def _chromium(html_path: Path, tmp_path: Path, screenshot: Path) -> list[str]:
    """Render ``html_path`` headless; returns the console messages chromium logged."""
    profile = tmp_path / f"profile-{screenshot.stem}"
    result = subprocess.run(
        [
            CHROMIUM,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            "--window-size=1400,3000",
            f"--screenshot={screenshot}",
            html_path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert screenshot.is_file(), result.stderr[-2000:]
    return [line for line in result.stderr.splitlines() if ":CONSOLE" in line]


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install -y chromium)")
def test_console_detector_catches_errors(tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<!DOCTYPE html><html><body><script>console.error("planted"); missingFn();</script></body></html>'
    )
    messages = _chromium(bad, tmp_path, tmp_path / "bad.png")
    assert any("planted" in m for m in messages) and any("missingFn is not defined" in m for m in messages)


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install -y chromium)")
def test_report_renders_in_headless_chromium_without_console_errors(report, tmp_path):
    out, _, _ = report
    shot = tmp_path / "report.png"
    assert _chromium(out / "report.html", tmp_path, shot) == []
    pixels = np.asarray(Image.open(shot).convert("RGB"))
    assert pixels.shape[:2] == (3000, 1400)
    codes = (
        (pixels[..., 0].astype(np.uint32) << 16) | (pixels[..., 1].astype(np.uint32) << 8) | pixels[..., 2]
    )
    # The waterfall's input (blue), removed (orange) and kept (green) bars are drawn.
    for rgb in (0x4C72B0, 0xDD8452, 0x55A868):
        assert np.count_nonzero(codes == rgb) > 2000, hex(rgb)
    shutil.copy(shot, out / "report-screenshot.png")  # kept next to the report for a human to look at


def test_report_on_a_real_pipeline_output(spine_run):
    from release.report import render_report

    stats = json.loads((spine_run / "stats.json").read_text())
    text = render_report(spine_run, max_rows_per_lang=2000)
    assert f"Input {stats['input']['docs']:,} files" in text
    for stage in stats["stages"]:
        assert f"<td>{stage['name']}</td>" in text
    # waterfall + score histograms (line stats are always there) + throughput when cpu time was recorded;
    # the spine run has no near-dedup, PII or decontam stage, so those sections say so.
    throughput = any((stage["cpu_s"] or 0) > 0 for stage in stats["stages"])
    assert text.count("<svg") == 2 + throughput
    assert text.count("nothing recorded in this output") == 3 + (not throughput)
