"""Small inline SVG charts: histograms, bars, line charts and parallel coordinates.

Each function returns an ``<svg>`` element sized in pixels, styled by the fragment's stylesheet
(:mod:`bevel.viz.html`). Labels are escaped; numbers are laid out on "nice" ticks. Values that
are ``None`` or not finite are left out of a chart rather than breaking it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from bevel.viz.html import esc, num

PALETTE = (
    "#2f6fdf",
    "#e8743b",
    "#19a979",
    "#945ecf",
    "#ed4a7b",
    "#13a4b4",
    "#bf8b00",
    "#6c8893",
    "#5b8c2a",
    "#c44d2c",
)
ACCENT = "#2f6fdf"
GRID = "#eef1f4"
AXIS = "#d1d9e0"


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _finite(value: float | None) -> bool:
    return value is not None and isinstance(value, int | float) and math.isfinite(value)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values covering ``[low, high]`` (1, 2, 2.5 or 5 x 10^k)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return []
    if high < low:
        low, high = high, low
    if high == low:
        return [low]
    raw = (high - low) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value <= high + step * 1e-9:
        if value >= low - step * 1e-9:
            ticks.append(round(value, 12))
        value += step
    return ticks


def nice_domain(low: float, high: float, count: int = 5) -> tuple[float, float, list[float]]:
    """``[low, high]`` widened to round ticks at both ends, and those ticks."""
    ticks = nice_ticks(low, high, count)
    if len(ticks) < 2:
        return low, high, ticks
    step = ticks[1] - ticks[0]
    if ticks[0] > low + step * 1e-9:
        ticks.insert(0, round(ticks[0] - step, 12))
    if ticks[-1] < high - step * 1e-9:
        ticks.append(round(ticks[-1] + step, 12))
    return ticks[0], ticks[-1], ticks


def _scale(d0: float, d1: float, r0: float, r1: float) -> Callable[[float], float]:
    span = d1 - d0
    if span == 0:
        mid = (r0 + r1) / 2
        return lambda _v: mid
    return lambda v: r0 + (v - d0) / span * (r1 - r0)


def _svg(width: int, height: int, body: str, label: str) -> str:
    return (
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{esc(label)}">{body}</svg>'
    )


def spark_histogram(counts: Sequence[int], *, width: int = 140, height: int = 34) -> str:
    """A tiny bar histogram (no axes) for a table cell."""
    if not counts or max(counts) <= 0:
        return _svg(width, height, "", "no values")
    peak = max(counts)
    bar = width / len(counts)
    rects = []
    for i, c in enumerate(counts):
        if c <= 0:
            continue
        h = max(1.0, (height - 2) * c / peak)
        rects.append(
            f'<rect x="{i * bar + 0.5:.2f}" y="{height - h:.2f}" width="{max(bar - 1, 0.8):.2f}" '
            f'height="{h:.2f}" rx="1" fill="{ACCENT}" opacity="0.85"/>'
        )
    base = f'<line x1="0" y1="{height - 0.5}" x2="{width}" y2="{height - 0.5}" stroke="{AXIS}"/>'
    return _svg(width, height, "".join(rects) + base, "distribution")


def spark_bars(
    items: Sequence[tuple[str, float]], *, total: float | None = None, width: int = 220
) -> str:
    """Top values as thin labelled bars (share of ``total``) for a table cell."""
    if not items:
        return ""
    row = 15
    height = row * len(items)
    peak = total or max(v for _, v in items) or 1
    label_w = 92
    bar_w = width - label_w - 44
    parts = []
    for i, (label, value) in enumerate(items):
        y = i * row
        w = max(1.0, bar_w * value / peak) if value > 0 else 0
        share = f"{100 * value / total:.0f}%" if total else num(value)
        text = label if len(label) <= 14 else label[:13] + "…"
        parts.append(
            f'<text x="0" y="{y + 11}">{esc(text)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{bar_w}" height="9" rx="2" fill="{GRID}"/>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="9" rx="2" fill="{ACCENT}"/>'
            f'<text x="{label_w + bar_w + 6}" y="{y + 11}">{esc(share)}</text>'
        )
    return _svg(width, height, "".join(parts), "most frequent values")


def histogram(
    counts: Sequence[float],
    edges: Sequence[float],
    *,
    width: int = 320,
    height: int = 170,
    label: Callable[[float], str] = num,
    title: str = "",
) -> str:
    """A histogram with axes: ``len(edges) == len(counts) + 1``."""
    left, right, top, bottom = 44, 10, 14 if title else 6, 22
    if not counts or len(edges) != len(counts) + 1:
        return _svg(width, height, "", "no values")
    _, peak, y_ticks = nice_domain(0, max(max(counts), 1), 4)
    x = _scale(edges[0], edges[-1], left, width - right)
    y = _scale(0, peak, height - bottom, top)
    parts = [_title(title, width)] if title else []
    for tick in y_ticks:
        parts.append(_hgrid(y(tick), left, width - right, num(tick)))
    for i, c in enumerate(counts):
        x0, x1 = x(edges[i]), x(edges[i + 1])
        if c > 0:
            parts.append(
                f'<rect x="{x0 + 0.5:.2f}" y="{y(c):.2f}" width="{max(x1 - x0 - 1, 0.8):.2f}" '
                f'height="{height - bottom - y(c):.2f}" fill="{ACCENT}" opacity="0.85"/>'
            )
    parts.append(_xaxis(left, width - right, height - bottom))
    for value, anchor in ((edges[0], "start"), (edges[-1], "end")):
        parts.append(
            f'<text x="{x(value):.1f}" y="{height - 6}" text-anchor="{anchor}">'
            f"{esc(label(value))}</text>"
        )
    return _svg(width, height, "".join(parts), title or "histogram")


def bar_chart(
    items: Sequence[tuple[str, float | None]],
    *,
    width: int = 340,
    title: str = "",
    highlight: Callable[[int], bool] | None = None,
) -> str:
    """Horizontal bars, one per label (e.g. a metric per run), values printed at the end."""
    row, top = 20, 18 if title else 2
    height = top + row * len(items) + 4
    label_w = min(130, 12 + 7 * max((len(lbl) for lbl, _ in items), default=4))
    values = [float(v) for _, v in items if v is not None and _finite(v)]
    low = min([0.0, *values])
    high = max([0.0, *values]) or 1.0
    x = _scale(low, high, label_w, width - 60)
    parts = [_title(title, width)] if title else []
    for i, (lbl, value) in enumerate(items):
        y0 = top + i * row
        text = lbl if len(lbl) <= 18 else lbl[:17] + "…"
        parts.append(f'<text x="0" y="{y0 + 13}">{esc(text)}</text>')
        if not _finite(value):
            parts.append(f'<text x="{label_w}" y="{y0 + 13}">-</text>')
            continue
        assert value is not None
        x0, x1 = sorted((x(0.0), x(value)))
        fill = color(i) if highlight is None else (ACCENT if highlight(i) else "#9fb3c8")
        parts.append(
            f'<rect x="{x0:.1f}" y="{y0 + 3}" width="{max(x1 - x0, 1):.1f}" height="13" rx="2" '
            f'fill="{fill}"/><text x="{max(x1, x0) + 5:.1f}" y="{y0 + 13}">{esc(num(value))}'
            "</text>"
        )
    return _svg(width, height, "".join(parts), title or "bars")


def line_chart(
    series: Sequence[tuple[str, Sequence[float], Sequence[float]]],
    *,
    width: int = 420,
    height: int = 220,
    title: str = "",
    x_label: str = "",
) -> str:
    """Lines (with points) for several named series of ``(xs, ys)``, with a legend."""
    pts = [
        (i, [(a, b) for a, b in zip(xs, ys) if _finite(a) and _finite(b)])
        for i, (_, xs, ys) in enumerate(series)
    ]
    every = [p for _, ps in pts for p in ps]
    left, right, top = 48, 12, 18 if title else 8
    legend_rows = math.ceil(len(series) / 3)
    bottom = 26 + 14 * legend_rows
    if not every:
        return _svg(width, height, _title(title, width) if title else "", "no values")
    xs_all = [a for a, _ in every]
    ys_all = [b for _, b in every]
    x_ticks = nice_ticks(min(xs_all), max(xs_all), 6)
    x0, x1 = min(xs_all), max(xs_all)
    y0, y1, y_ticks = nice_domain(min(ys_all), max(ys_all), 4)
    x = _scale(x0, x1, left, width - right)
    y = _scale(y0, y1, height - bottom, top)
    parts = [_title(title, width)] if title else []
    for tick in y_ticks:
        parts.append(_hgrid(y(tick), left, width - right, num(tick)))
    parts.append(_xaxis(left, width - right, height - bottom))
    for tick in x_ticks:
        parts.append(
            f'<text x="{x(tick):.1f}" y="{height - bottom + 13}" text-anchor="middle">'
            f"{esc(num(tick))}</text>"
        )
    if x_label:
        parts.append(
            f'<text x="{width - right}" y="{height - bottom + 24}" text-anchor="end">'
            f"{esc(x_label)}</text>"
        )
    for i, ps in pts:
        if not ps:
            continue
        c = color(i)
        path = " ".join(f"{x(a):.1f},{y(b):.1f}" for a, b in sorted(ps))
        parts.append(f'<polyline points="{path}" fill="none" stroke="{c}" stroke-width="1.8"/>')
        if len(ps) <= 60:
            parts.extend(
                f'<circle cx="{x(a):.1f}" cy="{y(b):.1f}" r="2.4" fill="{c}"/>' for a, b in ps
            )
    for i, (name, _, _) in enumerate(series):
        lx = left + (i % 3) * ((width - left) / 3)
        ly = height - 14 * legend_rows + 14 * (i // 3) + 2
        text = name if len(name) <= 22 else name[:21] + "…"
        parts.append(
            f'<rect x="{lx:.1f}" y="{ly - 8}" width="10" height="3" fill="{color(i)}"/>'
            f'<text x="{lx + 14:.1f}" y="{ly - 4}">{esc(text)}</text>'
        )
    return _svg(width, height, "".join(parts), title or "series")


def parallel_coordinates(
    axes: Sequence[tuple[str, Sequence[float | str | None]]],
    *,
    names: Sequence[str] = (),
    width: int = 640,
    height: int = 260,
    title: str = "",
    dark_low: bool = False,
) -> str:
    """One polyline per row across vertical axes (parameters, then the metric last).

    Text values are placed at evenly spaced positions on their axis; a line is coloured by its
    value on the last axis (high: dark blue, low: pale; the other way round with ``dark_low``,
    for a loss), so "which settings give the best metric" reads at a glance.
    """
    top, bottom, side = 30 if title else 16, 26, 40
    n_rows = max((len(v) for _, v in axes), default=0)
    if len(axes) < 2 or n_rows == 0:
        return _svg(width, height, _title(title, width) if title else "", "not enough axes")
    xs = [side + i * (width - 2 * side) / (len(axes) - 1) for i in range(len(axes))]
    positions: list[list[float | None]] = []
    parts = [_title(title, width)] if title else []
    for (name, values), ax in zip(axes, xs):
        pos, labels = _axis_positions(values, height - bottom, top)
        positions.append(pos)
        parts.append(
            f'<line x1="{ax:.1f}" y1="{top}" x2="{ax:.1f}" y2="{height - bottom}" stroke="{AXIS}" stroke-width="1.5"/>'
        )
        for yy, text in labels:
            parts.append(f'<text x="{ax + 4:.1f}" y="{yy + 3:.1f}">{esc(text)}</text>')
        short = name if len(name) <= 18 else name[:17] + "…"
        parts.append(
            f'<text x="{ax:.1f}" y="{height - 8}" text-anchor="middle" '
            f'style="font-weight:600;fill:#1f2328">{esc(short)}</text>'
        )
    last = [v if isinstance(v, int | float) and _finite(float(v)) else None for v in axes[-1][1]]
    finite_last = [float(v) for v in last if v is not None]
    lo, hi = (min(finite_last), max(finite_last)) if finite_last else (0.0, 1.0)
    lines = []
    for r in range(n_rows):
        coords = [
            (ax, pos[r]) for ax, pos in zip(xs, positions) if r < len(pos) and pos[r] is not None
        ]
        if len(coords) < 2:
            continue
        shade = 0.5 if hi == lo or last[r] is None else (float(last[r] or 0) - lo) / (hi - lo)
        shade = 1 - shade if dark_low else shade
        stroke = _blend("#b6cff5", "#0b3d91", shade)
        label = names[r] if r < len(names) else f"row {r + 1}"
        path = " ".join(f"{a:.1f},{b:.1f}" for a, b in coords)
        lines.append(
            f'<polyline points="{path}" fill="none" stroke="{stroke}" stroke-width="2" '
            f'opacity="0.9"><title>{esc(label)}</title></polyline>'
        )
    return _svg(width, height, "".join(lines) + "".join(parts), title or "parallel coordinates")


def _axis_positions(
    values: Sequence[float | str | None], y_low: float, y_high: float
) -> tuple[list[float | None], list[tuple[float, str]]]:
    numbers = [
        float(v)
        for v in values
        if isinstance(v, int | float) and not isinstance(v, bool) and _finite(float(v))
    ]
    if numbers and len(numbers) == sum(v is not None for v in values):
        lo, hi = min(numbers), max(numbers)
        y = _scale(lo, hi, y_low, y_high)
        pos: list[float | None] = [
            y(float(v)) if isinstance(v, int | float) and _finite(float(v)) else None
            for v in values
        ]
        ticks = sorted({lo, hi}) if lo != hi else [lo]
        return pos, [(y(t), num(t)) for t in ticks]
    cats = sorted({str(v) for v in values if v is not None})
    step = (y_low - y_high) / max(len(cats) - 1, 1)
    at = {
        c: (y_low - i * step if len(cats) > 1 else (y_low + y_high) / 2) for i, c in enumerate(cats)
    }
    return [at[str(v)] if v is not None else None for v in values], [(at[c], c) for c in cats]


def _blend(a: str, b: str, t: float) -> str:
    t = max(0.0, min(1.0, t))
    ca = [int(a[i : i + 2], 16) for i in (1, 3, 5)]
    cb = [int(b[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(ca, cb))


def _title(text: str, width: int) -> str:
    return (
        f'<text x="0" y="10" style="font-weight:600;fill:#1f2328;font-size:11px">{esc(text)}</text>'
    )


def _hgrid(y: float, x0: float, x1: float, label: str) -> str:
    return (
        f'<line x1="{x0}" y1="{y:.1f}" x2="{x1}" y2="{y:.1f}" stroke="{GRID}"/>'
        f'<text x="{x0 - 6}" y="{y + 3:.1f}" text-anchor="end">{esc(label)}</text>'
    )


def _xaxis(x0: float, x1: float, y: float) -> str:
    return f'<line x1="{x0}" y1="{y}" x2="{x1}" y2="{y}" stroke="{AXIS}"/>'


def spark_pair(
    reference: Sequence[float], current: Sequence[float], *, width: int = 180, height: int = 40
) -> str:
    """Two distributions (shares per bin) overlaid: reference in grey, current in blue."""
    n = max(len(reference), len(current))
    if not n:
        return ""
    peak = max([*reference, *current, 1e-12])
    bar = width / n
    parts = []
    for i in range(n):
        for values, fill, shrink in ((reference, "#aab4bf", 0.0), (current, ACCENT, 0.28)):
            v = values[i] if i < len(values) else 0.0
            if v <= 0:
                continue
            h = max(1.0, (height - 2) * v / peak)
            inset = bar * shrink
            parts.append(
                f'<rect x="{i * bar + 0.5 + inset:.2f}" y="{height - h:.2f}" '
                f'width="{max(bar - 1 - 2 * inset, 0.8):.2f}" height="{h:.2f}" fill="{fill}" '
                f'opacity="{0.9 if shrink else 0.75}"/>'
            )
    base = f'<line x1="0" y1="{height - 0.5}" x2="{width}" y2="{height - 0.5}" stroke="{AXIS}"/>'
    return _svg(width, height, "".join(parts) + base, "reference (grey) and current (blue)")
