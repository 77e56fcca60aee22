"""Inline SVG charts for ``report.html``: bars (stacked, floating, log scale) and histograms with thresholds.

Why not matplotlib: the report is drawn at the end of every run, and matplotlib's import, text layout and
SVG writer took ~2 s of a ~7 s ``make run`` on the built-in sample; the same charts are a few hundred
lines of SVG text, written in milliseconds. Text widths are estimated (``CHAR_EM`` of the font size per
character), so margins are computed, not measured. The output is a function of the input only (no ids,
no dates): the same run gives the same bytes.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

FONT = "system-ui,-apple-system,Segoe UI,sans-serif"
CHAR_EM = 0.6  # an estimate of a character's width in em, generous for digits and lower case
FONT_PX = 11
TITLE_PX = 13
GRID = "#dddddd"
AXIS = "#444444"
THRESHOLD = "#c44e52"
TITLE_HEIGHT = 28  # a figure's own title line


@dataclass
class Series:
    """One colour of a chart: bar heights (``bottoms``: where floating bars start, ``errors``: a +- bar on
    top, a NaN height: no bar) or histogram counts (``step``: drawn as an outline, else filled at
    ``opacity``)."""

    label: str | None
    color: str
    values: Sequence[float]
    bottoms: Sequence[float] | None = None
    errors: Sequence[float] | None = None
    step: bool = False
    opacity: float = 1.0


@dataclass
class Panel:
    """One chart of a figure: where it goes (pixels), its title and its y axis' title."""

    x: float
    y: float
    width: float
    height: float
    title: str
    ylabel: str = ""


@dataclass
class _Scale:
    low: float
    high: float
    start: float  # pixel of ``low``
    end: float  # pixel of ``high``
    log: bool = False
    ticks: list[float] = field(default_factory=list)

    def __call__(self, value: float) -> float:
        value = min(max(value, self.low), self.high)
        if self.log:
            low, high, value = math.log10(self.low), math.log10(self.high), math.log10(value)
        else:
            low, high = self.low, self.high
        return self.start + (value - low) / (high - low) * (self.end - self.start)


def nice_ticks(low: float, high: float, count: int = 5) -> tuple[float, float, list[float]]:
    """Round axis limits enclosing [low, high] and ticks at 1, 2 or 5 times a power of ten between them."""
    if high <= low:
        low, high = (low - 0.5, high + 0.5) if low == high else (high, low)
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    return first * step, last * step, [k * step for k in range(first, last + 1)]


def log_ticks(low: float, high: float) -> tuple[float, float, list[float]]:
    """Limits at powers of ten enclosing [low, high] (both > 0) and a tick at each power."""
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    last = max(last, first + 1)
    return 10.0**first, 10.0**last, [10.0**k for k in range(first, last + 1)]


def tick_label(value: float, step: float | None = None) -> str:
    """A tick's text: powers of ten of a log axis as 1e-3 .. 1e3 .. 1e6; else as many decimals as the step needs."""
    if step is None:
        exponent = round(math.log10(value))
        return f"{10.0**exponent:g}" if -3 <= exponent <= 3 else f"1e{exponent}"
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return f"{value:,.{decimals}f}"


def _axis(
    low: float, high: float, log: bool = False, count: int = 5
) -> tuple[float, float, list[float], list[str]]:
    """An axis for data in [low, high]: its limits, its ticks and their labels (log: ``low`` > 0)."""
    if log:
        low, high, ticks = log_ticks(low, high)
        return low, high, ticks, [tick_label(t) for t in ticks]
    low, high, ticks = nice_ticks(low, high, count)
    return low, high, ticks, [tick_label(t, ticks[1] - ticks[0]) for t in ticks]


def _plot_left(panel: Panel, y_labels: list[str]) -> float:
    """Where the plot area starts: after the y axis' title and its longest tick label."""
    return panel.x + FONT_PX * 2 + max(_width(label) for label in y_labels) + 6


def _text(
    x: float, y: float, text: str, size: int = FONT_PX, anchor: str = "middle", turn: int = 0, **attrs: str
) -> str:
    """``text`` anchored at (x, y); ``turn``: degrees anticlockwise about that point (90: reads upwards)."""
    if turn:
        attrs["transform"] = f"rotate(-{turn} {x:.1f} {y:.1f})"
    extra = "".join(f' {name}="{value}"' for name, value in attrs.items())
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"{extra}>'
        f"{html.escape(text)}</text>"
    )


def _width(text: str, size: int = FONT_PX) -> float:
    return len(text) * size * CHAR_EM


def _y_axis(panel: Panel, scale: _Scale, left: float, right: float, labels: list[str]) -> list[str]:
    """Grid lines, tick labels and the axis title on the left of the plot area."""
    parts = []
    for value, label in zip(scale.ticks, labels, strict=True):
        y = scale(value)
        parts.append(f'<line x1="{left:.1f}" x2="{right:.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(_text(left - 4, y + FONT_PX * 0.35, label, anchor="end"))
    if panel.ylabel:
        x, y = panel.x + FONT_PX, (scale.start + scale.end) / 2
        parts.append(_text(x, y, panel.ylabel, turn=90))
    return parts


def _frame(panel: Panel, left: float, top: float, bottom: float, right: float) -> list[str]:
    return [
        _text((left + right) / 2, panel.y + TITLE_PX + 2, panel.title, size=TITLE_PX),
        f'<rect x="{left:.1f}" y="{top:.1f}" width="{right - left:.1f}" height="{bottom - top:.1f}" '
        f'fill="none" stroke="{AXIS}"/>',
    ]


def _legend(series: Sequence[Series], right: float, top: float) -> list[str]:
    named = [s for s in series if s.label]
    if not named:
        return []
    width = max(_width(s.label or "") for s in named) + 30
    x = right - width - 6
    parts = [
        f'<rect x="{x:.1f}" y="{top + 6:.1f}" width="{width:.1f}" height="{len(named) * 16 + 6:.1f}" '
        'fill="white" fill-opacity="0.85" stroke="#cccccc"/>'
    ]
    for k, s in enumerate(named):
        y = top + 12 + k * 16
        if s.step:
            parts.append(
                f'<line x1="{x + 5:.1f}" x2="{x + 21:.1f}" y1="{y + 5}" y2="{y + 5}" stroke="{s.color}" stroke-width="2"/>'
            )
        else:
            parts.append(
                f'<rect x="{x + 5:.1f}" y="{y}" width="16" height="10" fill="{s.color}" fill-opacity="{s.opacity}"/>'
            )
        parts.append(_text(x + 26, y + 9, s.label or "", anchor="start"))
    return parts


def bar_panel(
    panel: Panel,
    categories: Sequence[str],
    series: Sequence[Series],
    log: bool = False,
    rotate: int = 0,
    limits: tuple[float, float] | None = None,
) -> list[str]:
    """Bars per category, one colour per series: stacked where the caller gives ``bottoms``. ``rotate``:
    the category labels' angle in degrees (0: level); ``limits``: the y range to show (linear; rounded
    out to ticks), else from 0 to the highest bar."""
    tops = [
        (s.bottoms[k] if s.bottoms else 0) + value + (s.errors[k] if s.errors else 0)
        for s in series
        for k, value in enumerate(s.values)
        if math.isfinite(value)
    ]
    if log:
        positive = [v for s in series for v in s.values if v > 0] or [1.0]
        # just below the least value: a bar as low as the axis would not show
        low, high, ticks, labels = _axis(
            min(positive) * 0.999, max(max(tops, default=1.0), min(positive) * 10), log=True
        )
    else:
        low, high, ticks, labels = _axis(*(limits or (0.0, max(max(tops, default=0.0), 1e-9))))
    longest = max((_width(c) for c in categories), default=0.0)
    below = longest * math.sin(math.radians(rotate)) + 12 if rotate else FONT_PX + 10
    left = _plot_left(panel, labels)
    top, bottom, right = panel.y + TITLE_PX + 12, panel.y + panel.height - below, panel.x + panel.width - 8
    scale = _Scale(low, high, bottom, top, log, ticks)
    parts = _y_axis(panel, scale, left, right, labels)
    band = (right - left) / max(len(categories), 1)
    for k, category in enumerate(categories):
        cx = left + band * (k + 0.5)
        for s in series:
            base = s.bottoms[k] if s.bottoms else 0.0
            value = s.values[k]
            if not math.isfinite(value) or (value <= 0 and not limits):
                continue
            y0, y1 = scale(base), scale(base + value)
            parts.append(
                f'<rect x="{cx - band * 0.4:.1f}" y="{min(y0, y1):.1f}" width="{band * 0.8:.1f}" '
                f'height="{max(abs(y0 - y1), 0.5):.1f}" fill="{s.color}"/>'
            )
            if s.errors and s.errors[k] > 0:
                low_y, high_y = scale(base + value - s.errors[k]), scale(base + value + s.errors[k])
                parts.append(_error_bar(cx, low_y, high_y, band * 0.15))
        if rotate:
            y = bottom + FONT_PX
            parts.append(_text(cx, y, category, anchor="end", turn=rotate))
        else:
            parts.append(_text(cx, bottom + FONT_PX + 3, category))
    parts += _frame(panel, left, top, bottom, right)
    return parts + _legend(series, right, top)


def _error_bar(x: float, low: float, high: float, cap: float) -> str:
    return (
        f'<path d="M{x:.1f},{low:.1f}V{high:.1f}M{x - cap:.1f},{low:.1f}H{x + cap:.1f}'
        f'M{x - cap:.1f},{high:.1f}H{x + cap:.1f}" stroke="{AXIS}" fill="none"/>'
    )


def histogram_panel(
    panel: Panel,
    edges: Sequence[float],
    series: Sequence[Series],
    log_x: bool = False,
    lines: Sequence[tuple[float, str]] = (),
) -> list[str]:
    """Counts per bin (``edges``: the bins' bounds, one more than each series' values) and labelled
    vertical lines (thresholds); the x axis covers the bins and the lines."""
    xs = [*edges, *(value for value, _ in lines if value > 0 or not log_x)]
    x_low, x_high, x_ticks, x_labels = _axis(min(xs), max(xs), log_x, count=8)
    y_low, y_high, y_ticks, y_labels = _axis(
        0.0, max((v for s in series for v in s.values), default=1.0) or 1.0
    )
    left = _plot_left(panel, y_labels)
    # the right margin leaves room for the last x tick's label, centred on the plot's edge
    top, bottom = panel.y + TITLE_PX + 12, panel.y + panel.height - FONT_PX - 18
    right = panel.x + panel.width - max(8, _width(x_labels[-1]) / 2 + 4)
    x = _Scale(x_low, x_high, left, right, log_x, x_ticks)
    y = _Scale(y_low, y_high, bottom, top, False, y_ticks)
    parts = _y_axis(panel, y, left, right, y_labels)
    for value, label in zip(x_ticks, x_labels, strict=True):
        parts.append(_text(x(value), bottom + FONT_PX + 3, label))
    for s in series:
        if s.step:
            points = [(x(edges[0]), y(0))]
            for k, count in enumerate(s.values):
                points += [(x(edges[k]), y(count)), (x(edges[k + 1]), y(count))]
            points.append((x(edges[-1]), y(0)))
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{s.color}" stroke-width="1.5"/>')
        else:
            for k, count in enumerate(s.values):
                if count > 0:
                    x0, x1, top_y = x(edges[k]), x(edges[k + 1]), y(count)
                    parts.append(
                        f'<rect x="{x0:.1f}" y="{top_y:.1f}" width="{max(x1 - x0, 0.5):.1f}" '
                        f'height="{bottom - top_y:.1f}" fill="{s.color}" fill-opacity="{s.opacity}"/>'
                    )
    for value, label in lines:
        if log_x and value <= 0:
            continue
        px = x(value)
        parts.append(
            f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{top:.1f}" y2="{bottom:.1f}" stroke="{THRESHOLD}" '
            'stroke-width="1.2" stroke-dasharray="5,3"/>'
        )
        parts.append(_text(px - 3, top + 4, label, anchor="end", turn=90, fill=THRESHOLD))
    parts += _frame(panel, left, top, bottom, right)
    return parts + _legend(series, right, top)


def figure(width: float, height: float, parts: Sequence[str], title: str = "") -> str:
    """One ``<svg>`` element holding the panels' parts (``title``: a line above them, which takes
    ``TITLE_HEIGHT`` pixels: place the panels below it)."""
    heading = _text(width / 2, TITLE_PX + 6, title, size=TITLE_PX + 2) if title else ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="{FONT}" fill="#222222">'
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="white"/>{heading}' + "".join(parts) + "</svg>"
    )
