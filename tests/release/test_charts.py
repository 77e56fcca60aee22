"""release.charts: axis limits and ticks, bars and bins drawn where their numbers say, valid and stable SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from release.charts import (
    Panel,
    Series,
    bar_panel,
    figure,
    histogram_panel,
    log_ticks,
    nice_ticks,
    tick_label,
)

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def _rects(root: ET.Element, color: str) -> list[dict[str, float]]:
    return [
        {k: float(v) for k, v in r.attrib.items() if k in ("x", "y", "width", "height")}
        for r in root.iter(f"{SVG}rect")
        if r.get("fill") == color
    ]


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0, 473, (0, 500, [0, 100, 200, 300, 400, 500])),
        (0, 7.6, (0, 8, [0, 2, 4, 6, 8])),
        (0.02, 0.83, (0.0, 1.0, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0])),
        (0, 1000, (0, 1000, [0, 200, 400, 600, 800, 1000])),
    ],
)
def test_nice_ticks_enclose_the_data_at_round_steps(low, high, expected):
    got_low, got_high, ticks = nice_ticks(low, high)
    assert (got_low, got_high) == pytest.approx(expected[:2])
    assert ticks == pytest.approx(expected[2])


def test_nice_ticks_of_a_single_value_still_span_an_interval():
    low, high, ticks = nice_ticks(3.0, 3.0)
    assert low < 3.0 < high and len(ticks) >= 2


def test_log_ticks_are_powers_of_ten_around_the_data():
    assert log_ticks(11, 120) == (10.0, 1000.0, [10.0, 100.0, 1000.0])
    assert log_ticks(2, 2) == (1.0, 10.0, [1.0, 10.0])


def test_tick_labels():
    assert [tick_label(v) for v in (0.001, 1.0, 1000.0, 1e4)] == ["0.001", "1", "1000", "1e4"]
    assert tick_label(0.4, 0.2) == "0.4" and tick_label(1000.0, 200.0) == "1,000"


def test_bar_heights_and_floating_bottoms_follow_the_values():
    panel = Panel(0, 0, 400, 300, "docs")
    series = [
        Series(None, "#111111", [100.0, 0.0, 0.0]),
        Series(None, "#222222", [0.0, 25.0, 0.0], bottoms=[0.0, 75.0, 0.0]),
        Series(None, "#333333", [0.0, 0.0, 75.0]),
    ]
    root = _parse(figure(400, 300, bar_panel(panel, ["input", "stage", "kept"], series, rotate=60)))
    (whole,), (gone,), (kept,) = (_rects(root, c) for c in ("#111111", "#222222", "#333333"))
    # one scale: 100 documents tall, the removed 25 float on top of the kept 75
    assert gone["height"] / whole["height"] == pytest.approx(0.25, abs=0.01)
    assert kept["height"] / whole["height"] == pytest.approx(0.75, abs=0.01)
    assert gone["y"] == pytest.approx(whole["y"], abs=0.1)
    assert gone["y"] + gone["height"] == pytest.approx(kept["y"], abs=0.2)
    assert whole["x"] < gone["x"] < kept["x"]


def test_stacked_log_bars_and_a_legend_per_named_series():
    series = [
        Series("java", "#b07219", [10.0, 1.0]),
        Series("python", "#3572A5", [90.0, 0.0], bottoms=[10.0, 1.0]),
    ]
    root = _parse(
        figure(500, 360, bar_panel(Panel(0, 0, 500, 360, "clusters", "n"), ["2", "3"], series, log=True))
    )
    java = _rects(root, "#b07219")
    python = _rects(root, "#3572A5")
    assert len(java) == 3 and len(python) == 2  # two bars each, one legend swatch each; zero draws nothing
    # log scale: 10 -> 100 is one decade, as tall as 1 -> 10
    bar_java, bar_python = java[0], python[0]
    assert bar_python["height"] == pytest.approx(java[1]["height"], abs=0.5)
    assert bar_java["y"] == pytest.approx(bar_python["y"] + bar_python["height"], abs=0.2)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "java" in texts and "python" in texts and "1" in texts and "100" in texts


def test_histogram_steps_bins_and_threshold_lines():
    edges = [0.0, 0.25, 0.5, 0.75, 1.0]
    series = [
        Series("python", "#3572A5", [1, 4, 2, 0], step=True),
        Series("removed", "#999999", [3, 0, 0, 0], opacity=0.5),
    ]
    panel = Panel(0, 0, 900, 280, "alnum", "documents")
    root = _parse(figure(900, 280, histogram_panel(panel, edges, series, lines=[(0.25, "basic: min")])))
    (line,) = root.iter(f"{SVG}polyline")
    points = [tuple(map(float, p.split(","))) for p in line.get("points").split()]
    assert len(points) == 2 * 4 + 2
    heights = [points[1 + 2 * k][1] for k in range(4)]  # the step tops: higher count, smaller y
    assert heights[1] < heights[2] < heights[0] < heights[3]
    (removed,) = [r for r in _rects(root, "#999999") if r["width"] > 20]  # the bin, not the legend swatch
    dashed = [ln for ln in root.iter(f"{SVG}line") if ln.get("stroke-dasharray")]
    assert len(dashed) == 1
    # the threshold sits on the first bin's right edge
    assert float(dashed[0].get("x1")) == pytest.approx(removed["x"] + removed["width"], abs=0.2)
    assert "basic: min" in [t.text for t in root.iter(f"{SVG}text")]


def test_log_histogram_leaves_out_a_threshold_it_cannot_place():
    edges = [10.0, 100.0, 1000.0]
    series = [Series("java", "#b07219", [5, 1], step=True)]
    panel = histogram_panel(
        Panel(0, 0, 900, 280, "line length"), edges, series, log_x=True, lines=[(0.0, "zero")]
    )
    root = _parse(figure(900, 280, panel))
    assert not [ln for ln in root.iter(f"{SVG}line") if ln.get("stroke-dasharray")]
    assert "1000" in [t.text for t in root.iter(f"{SVG}text")]


def test_text_is_escaped_and_output_is_stable():
    series = [Series("<js> & co", "#d4b000", [1.0])]
    make = lambda: figure(300, 200, bar_panel(Panel(0, 0, 300, 200, 'say "hi"'), ["a<b"], series))  # noqa: E731
    svg = make()
    root = _parse(svg)
    assert {"<js> & co", "a<b", 'say "hi"'} <= {t.text for t in root.iter(f"{SVG}text")}
    assert make() == svg
