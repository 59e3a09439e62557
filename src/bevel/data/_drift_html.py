"""The HTML of a :class:`~bevel.data.drift_detection.DriftReport`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bevel.viz import svg
from bevel.viz.html import badge, cards, esc, fragment, num, pct, table

if TYPE_CHECKING:
    from bevel.data.drift_detection import ColumnDrift, DriftReport

_TESTS = {"ks": "Kolmogorov-Smirnov", "chi2": "chi-square", "none": "not tested"}


def _p(value: float | None) -> str:
    if value is None:
        return "-"
    return "<0.0001" if value < 1e-4 else f"{value:.4f}"


def _verdict(c: ColumnDrift) -> str:
    if c.test == "none":
        return badge("not tested", "muted")
    if c.drifted:
        return badge("drifted", "bad")
    return badge("stable", "ok")


def _missing(c: ColumnDrift) -> str:
    if not c.missing_reference and not c.missing_current:
        return '<span class="bv-m">none</span>'
    return f"{pct(c.missing_reference, 1.0)} → {pct(c.missing_current, 1.0)}"


def render(report: DriftReport) -> str:
    detected = report.drift_detected
    summary = cards(
        [
            (
                "dataset drift",
                '<span class="bv-c-bad">detected</span>'
                if detected
                else '<span class="bv-c-ok">not detected</span>',
            ),
            ("drifted columns", f"{len(report.drifted)} / {len(report.tested)}"),
            ("reference rows", esc(num(report.reference_rows))),
            ("current rows", esc(num(report.current_rows))),
        ]
    )
    rows, classes = [], []
    for c in report.columns:
        note = f'<br><span class="bv-m">{esc(c.note)}</span>' if c.note else ""
        rows.append(
            [
                f'<span class="bv-name">{esc(c.column)}</span>{note}',
                esc(c.kind),
                esc(_TESTS.get(c.test, c.test)),
                esc(num(c.statistic)) if c.statistic is not None else "-",
                _p(c.p_value),
                esc(f"{c.psi:.3f}") if c.psi is not None else "-",
                _verdict(c),
                _missing(c),
                svg.spark_pair(c.reference, c.current) if c.reference else "",
            ]
        )
        classes.append("bv-row-bad" if c.drifted else "")
    body = table(
        (
            "column",
            "kind",
            "test",
            "statistic",
            "p-value",
            "PSI",
            "verdict",
            "missing",
            "distribution",
        ),
        rows,
        numeric=(3, 4, 5),
        row_classes=classes,
    )
    subtitle = (
        f"a column drifts when p &lt; {report.alpha:g} and PSI ≥ {report.psi_threshold:g}; "
        f"the dataset drifts when at least {report.drift_share:.0%} of the tested columns do · "
        "charts: reference in grey, current in blue"
    )
    return fragment(summary, body, title="Drift", subtitle=subtitle)
