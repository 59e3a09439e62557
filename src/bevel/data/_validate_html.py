"""The HTML of an :class:`~bevel.data.validation.AnomalyReport`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bevel.viz.html import badge, cards, esc, fragment, num, pct, table

if TYPE_CHECKING:
    from bevel.data.validation import AnomalyReport

_ROW_KINDS = ("unexpected_nulls", "out_of_range", "unseen_category")


def _examples(values: list[object]) -> str:
    if not values:
        return ""
    return ", ".join(
        f"<code>{esc(repr(v) if isinstance(v, str) else num(v))}</code>" for v in values
    )


def render(report: AnomalyReport) -> str:
    subtitle = (
        f"{esc(num(report.rows))} rows &times; {esc(num(report.columns))} columns checked "
        f"against a schema of {len(report.checked)} columns"
    )
    if report.ok:
        verdict = cards([("anomalies", '<span class="bv-c-ok">none</span>')])
        return fragment(
            verdict,
            "<p>The data matches the schema: every column present, of its type, with no "
            "unexpected missing values, ranges and categories respected.</p>",
            title="Anomalies",
            subtitle=subtitle,
        )
    kinds: dict[str, int] = {}
    for a in report.anomalies:
        kinds[a.kind] = kinds.get(a.kind, 0) + 1
    summary = cards(
        [("anomalies", f'<span class="bv-c-bad">{len(report.anomalies)}</span>')]
        + [(k.replace("_", " "), esc(num(n))) for k, n in kinds.items()]
    )
    rows = []
    for a in report.anomalies:
        affected = esc(num(a.count))
        if a.kind in _ROW_KINDS:
            affected += f'<br><span class="bv-m">{pct(a.count, report.rows)} of rows</span>'
        where = ""
        if a.rows:
            where = f'<br><span class="bv-m">rows {esc(", ".join(map(str, a.rows)))}</span>'
        rows.append(
            [
                f'<span class="bv-name">{esc(a.column)}</span>',
                badge(a.kind.replace("_", " "), "bad" if a.kind in _ROW_KINDS else "warn"),
                affected,
                esc(a.detail),
                _examples(a.examples) + where,
            ]
        )
    body = table(("column", "anomaly", "affected", "detail", "examples"), rows, numeric=(2,))
    return fragment(summary, body, title="Anomalies", subtitle=subtitle)
