"""The statistics report of a :class:`~bevel.data.statistics.Profile` (an HTML fragment)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bevel.viz import svg
from bevel.viz.html import badge, cards, esc, fragment, num, pct, share_bar, table

if TYPE_CHECKING:
    from bevel.data.statistics import ColumnProfile, Profile

MAX_COLUMNS = 300
_KIND_TONE = {"numeric": "info", "categorical": "ok", "datetime": "warn", "boolean": "muted"}


def when(value: Any) -> str:
    """An ISO timestamp for people: the date alone at midnight, ``T`` as a space."""
    text = str(value)
    if text.endswith("T00:00:00"):
        return text[:-9]
    return text.replace("T", " ")


def _summary(c: ColumnProfile) -> str:
    if c.count == 0:
        return '<span class="bv-m">no values</span>'
    if c.kind == "numeric" and c.mean is not None:
        median = c.quantiles.get("50%")
        extra = f" · {c.infinite:,} infinite" if c.infinite else ""
        return (
            f"mean <b>{esc(num(c.mean))}</b> · std {esc(num(c.std))}<br>"
            f'<span class="bv-m">min {esc(num(c.min))} · median {esc(num(median))} · '
            f"max {esc(num(c.max))}{extra}</span>"
        )
    if c.kind == "datetime" and c.min is not None:
        return (
            f"{esc(when(c.min))} → {esc(when(c.max))}<br>"
            f'<span class="bv-m">median {esc(when(c.quantiles.get("50%", "")))}</span>'
        )
    if c.kind == "boolean" and c.mean is not None:
        return f"true <b>{100 * float(c.mean):.1f}%</b>"
    if c.top:
        value, count = c.top[0]
        return (
            f'most frequent <b>{esc(value)}</b><br><span class="bv-m">'
            f"{pct(count, c.count)} of values</span>"
        )
    return '<span class="bv-m">-</span>'


def _distribution(c: ColumnProfile) -> str:
    if c.histogram is not None and c.kind in ("numeric", "datetime"):
        return svg.spark_histogram(c.histogram.counts)
    if c.top:
        sample_total = sum(n for _, n in c.top) if c.estimated else c.count
        total = c.count if not c.estimated else max(sample_total, 1)
        return svg.spark_bars([(str(v), float(n)) for v, n in c.top[:5]], total=total)
    return ""


def _distinct(c: ColumnProfile) -> str:
    if c.distinct is None:
        return "-"
    text = esc(num(c.distinct))
    if "distinct" in c.estimated:
        return f'{text}<br><span class="bv-m">in sample</span>'
    if c.count and c.distinct == c.count and c.count > 1:
        return f"{text}<br>{badge('unique', 'muted')}"
    return text


def render(p: Profile) -> str:
    shown = p.columns[:MAX_COLUMNS]
    rows = []
    for c in shown:
        rows.append(
            [
                f'<div class="bv-name">{esc(c.name)}</div><div class="bv-m">{esc(c.dtype)}</div>',
                badge(c.kind, _KIND_TONE.get(c.kind, "muted")),
                esc(num(c.count)),
                f"{share_bar(c.missing, c.rows)}{esc(num(c.missing))} "
                f'<span class="bv-m">({pct(c.missing, c.rows)})</span>',
                _distinct(c),
                _summary(c),
                _distribution(c),
            ]
        )
    cells = p.rows * len(p.columns)
    missing = sum(c.missing for c in p.columns)
    kinds: dict[str, int] = {}
    for c in p.columns:
        kinds[c.kind] = kinds.get(c.kind, 0) + 1
    summary = cards(
        [
            ("rows", esc(num(p.rows))),
            ("columns", esc(num(len(p.columns)))),
            ("missing cells", f"{pct(missing, cells)}"),
            *((kind, esc(num(n))) for kind, n in kinds.items()),
        ]
    )
    subtitle = f"{esc(num(p.rows))} rows &times; {esc(num(len(p.columns)))} columns"
    if p.sample:
        subtitle += (
            f" · mean, std, quantiles, histograms, distinct and top values estimated from a "
            f"random sample of {esc(num(p.sample))} rows; counts, missing, min and max are exact"
        )
    more = ""
    if len(p.columns) > MAX_COLUMNS:
        more = f'<p class="bv-m">… and {len(p.columns) - MAX_COLUMNS} more columns</p>'
    body = table(
        ("column", "kind", "present", "missing", "distinct", "summary", "distribution"),
        rows,
        numeric=(2,),
    )
    return fragment(summary, body, more, title="Statistics", subtitle=subtitle)
