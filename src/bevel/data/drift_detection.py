"""Drift between a reference table and a current one, column by column.

The test depends on the column's kind (see :mod:`bevel.data._frames`):

=====================  ================================================================
numeric, datetime      two-sample Kolmogorov-Smirnov (statistic D = the largest distance
                       between the two cumulative distributions) and the Population
                       Stability Index over the reference's deciles
categorical, boolean   chi-square test of homogeneity on the category counts (the 50 most
                       frequent reference categories, the rest pooled as "other") and the
                       PSI over the same categories
other                  not tested
=====================  ================================================================

A column has **drifted** when the change is both statistically significant (p-value below
``alpha``, default 0.05) *and* large enough to matter (PSI at least ``psi_threshold``, default
0.1; by convention PSI < 0.1 is no real change, 0.1-0.25 a moderate one, above 0.25 a major
one). Requiring both keeps a million-row comparison, where any tiny difference is significant,
from flagging everything, and a small one, where PSI is noisy, from flagging chance. The
report's ``drift_detected`` is true when at least ``drift_share`` (default half) of the tested
columns drifted, as Evidently defines dataset drift; ``drifted`` lists the columns.

p-values use scipy.special (the Kolmogorov distribution with Stephens' small-sample correction,
and the chi-square survival function); scipy.stats itself is not imported (it costs seconds).
Missing values are left out of the tests; the share missing in each table is reported. Above
:data:`KS_SAMPLE` values per side, a numeric column's KS test, PSI and chart use a seeded random
sample of that size (sorting a million values per column and side was most of the cost).
"""

from __future__ import annotations

import math
from dataclasses import asdict, field
from typing import Any

import numpy as np
import pandas as pd

from bevel._dataclass import dataclass
from bevel.data import _drift_html, _frames
from bevel.errors import DataError

_BINS = 10  # PSI bins for numbers: the reference's deciles
_CHART_BINS = 20
_MAX_CATEGORIES = 50
_EPS = 1e-4  # floor of a bin's share in the PSI (an empty bin would make it infinite)
#: Numbers are compared on at most this many values per side (a seeded random sample beyond):
#: D is then within about 0.003 of its value on all rows, the p-value is the one for the sizes
#: used, and each PSI bin holds ~25,000 values. Missing shares always count every row.
KS_SAMPLE = 250_000


@dataclass
class ColumnDrift:
    """The drift of one column. ``reference``/``current`` are the shares per chart bin (or
    category, named in ``labels``), for the report's overlaid histograms."""

    column: str
    kind: str
    test: str  # "ks", "chi2" or "none"
    statistic: float | None
    p_value: float | None
    psi: float | None
    drifted: bool
    missing_reference: float = 0.0  # share of missing values
    missing_current: float = 0.0
    labels: list[str] = field(default_factory=list)
    reference: list[float] = field(default_factory=list)
    current: list[float] = field(default_factory=list)
    note: str = ""


@dataclass
class DriftReport:
    """Per-column drift and the verdict for the whole table (see the module docstring)."""

    reference_rows: int
    current_rows: int
    columns: list[ColumnDrift]
    alpha: float = 0.05
    psi_threshold: float = 0.1
    drift_share: float = 0.5

    @property
    def tested(self) -> list[ColumnDrift]:
        return [c for c in self.columns if c.test != "none"]

    @property
    def drifted(self) -> list[str]:
        return [c.column for c in self.columns if c.drifted]

    @property
    def share_drifted(self) -> float:
        tested = self.tested
        return len(self.drifted) / len(tested) if tested else 0.0

    @property
    def drift_detected(self) -> bool:
        return bool(self.drifted) and self.share_drifted >= self.drift_share

    def __getitem__(self, column: str) -> ColumnDrift:
        for c in self.columns:
            if c.column == column:
                return c
        raise KeyError(f"no column {column!r} in this drift report")

    def summary(self) -> str:
        """``dataset drift: 6 of 10 columns drifted (x0, ...)``, ``3 of 31 columns drifted (...),
        below the dataset-drift share of 50%`` or ``no drift in 31 columns``."""
        if not self.drifted:
            return f"no drift in {len(self.tested)} columns"
        shown = ", ".join(self.drifted[:6]) + (", ..." if len(self.drifted) > 6 else "")
        counted = f"{len(self.drifted)} of {len(self.tested)} columns drifted ({shown})"
        if self.drift_detected:
            return f"dataset drift: {counted}"
        return f"{counted}, below the dataset-drift share of {self.drift_share:.0%}"

    def to_frame(self) -> pd.DataFrame:
        """One row per column: kind, test, statistic, p_value, psi, drifted, missing shares."""
        records = [
            {
                "column": c.column,
                "kind": c.kind,
                "test": c.test,
                "statistic": c.statistic,
                "p_value": c.p_value,
                "psi": c.psi,
                "drifted": c.drifted,
                "missing_reference": c.missing_reference,
                "missing_current": c.missing_current,
            }
            for c in self.columns
        ]
        frame = pd.DataFrame.from_records(records)
        return frame.set_index("column") if not frame.empty else frame

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DriftReport:
        return cls(**{**data, "columns": [ColumnDrift(**c) for c in data["columns"]]})

    def html(self) -> str:
        return _drift_html.render(self)

    def _repr_html_(self) -> str:
        return self.html()

    def __repr__(self) -> str:
        return f"DriftReport({self.summary()})"


def drift(
    reference: Any,
    current: Any,
    *,
    columns: list[str] | None = None,
    alpha: float = 0.05,
    psi_threshold: float = 0.1,
    drift_share: float = 0.5,
) -> DriftReport:
    """Compare ``current`` with ``reference`` column by column (see the module docstring).

    ``columns`` limits the comparison (default: the columns both tables have).
    """
    ref = _frames.as_frame(reference, "drift(reference)")
    cur = _frames.as_frame(current, "drift(current)")
    if not (0 < alpha < 1) or psi_threshold < 0 or not (0 < drift_share <= 1):
        raise DataError(
            f"drift: alpha must be in (0, 1), psi_threshold >= 0 and drift_share in (0, 1]; "
            f"got alpha={alpha}, psi_threshold={psi_threshold}, drift_share={drift_share}",
            hint="the defaults are alpha=0.05, psi_threshold=0.1, drift_share=0.5",
        )
    ref_names = [_frames.column_label(c) for c in ref.columns]
    cur_names = [_frames.column_label(c) for c in cur.columns]
    wanted = columns if columns is not None else ref_names
    results = []
    for name in wanted:
        if name not in ref_names or name not in cur_names:
            where = "reference" if name not in ref_names else "current"
            results.append(_untested(name, f"not in the {where} table"))
            continue
        a = ref.iloc[:, ref_names.index(name)]
        b = cur.iloc[:, cur_names.index(name)]
        results.append(_column(name, a, b, alpha, psi_threshold))
    for name in cur_names if columns is None else ():
        if name not in ref_names:
            results.append(_untested(name, "not in the reference table"))
    return DriftReport(
        reference_rows=len(ref),
        current_rows=len(cur),
        columns=results,
        alpha=alpha,
        psi_threshold=psi_threshold,
        drift_share=drift_share,
    )


def _untested(name: str, note: str, kind: str = "other") -> ColumnDrift:
    return ColumnDrift(name, kind, "none", None, None, None, False, note=note)


def _column(name: str, a: pd.Series, b: pd.Series, alpha: float, psi_limit: float) -> ColumnDrift:
    kind = _frames.kind_of(a)
    other = _frames.kind_of(b)
    if kind != other:
        return _untested(name, f"kind changed from {kind} to {other}", kind)
    if kind in ("numeric", "datetime"):
        result = _numeric(name, kind, a, b)
    elif kind in ("categorical", "boolean"):
        result = _categorical(name, kind, a, b)
    else:
        return _untested(name, "values of this type are not compared", kind)
    result.missing_reference = float(a.isna().mean()) if len(a) else 0.0
    result.missing_current = float(b.isna().mean()) if len(b) else 0.0
    if result.test != "none" and result.p_value is not None and result.psi is not None:
        result.drifted = result.p_value < alpha and result.psi >= psi_limit
    return result


def _finite(series: pd.Series) -> np.ndarray[Any, Any]:
    values = _frames.as_float(series)
    mask = np.isfinite(values)
    return values if mask.all() else values[mask]


def _drawn(values: np.ndarray[Any, Any], rng: np.random.Generator) -> np.ndarray[Any, Any]:
    """A sorted copy of ``values``, or of a seeded random sample of :data:`KS_SAMPLE` of them
    (drawn with replacement: one cheap pass, and at this size as good as without)."""
    if values.size > KS_SAMPLE:
        values = values[rng.integers(0, values.size, size=KS_SAMPLE)]
    return np.sort(values)


def _numeric(name: str, kind: str, a: pd.Series, b: pd.Series) -> ColumnDrift:
    x_all, y_all = _finite(a), _finite(b)
    if x_all.size == 0 or y_all.size == 0:
        return _untested(name, "no values in one of the tables", kind)
    rng = np.random.default_rng(0)
    x, y = _drawn(x_all, rng), _drawn(y_all, rng)
    d = _ks_statistic(x, y)
    p = _ks_p_value(d, x.size, y.size)
    edges = np.unique(x[np.minimum((np.arange(1, _BINS) * x.size) // _BINS, x.size - 1)])
    psi = _psi(_binned(x, edges), _binned(y, edges))
    low, high = float(min(x[0], y[0])), float(max(x[-1], y[-1]))
    chart = np.linspace(low, high, _CHART_BINS + 1) if high > low else np.array([low, low + 1])
    labels = [f"{v:.6g}" for v in chart]
    return ColumnDrift(
        name,
        kind,
        "ks",
        d,
        p,
        psi,
        False,
        labels=labels,
        reference=_shares(_hist(x, chart)),
        current=_shares(_hist(y, chart)),
    )


def _ks_statistic(x: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> float:
    """max |F_x - F_y| over all observed points, from sorted arrays (queries are sorted too,
    which keeps the binary searches cache-friendly; ties are handled exactly)."""
    n, m = x.size, y.size
    # Integer arithmetic (counts scaled by the other size): no float temporaries, exact.
    d1 = np.abs(_cdf_self(x) * m - np.searchsorted(y, x, side="right") * n).max()
    d2 = np.abs(np.searchsorted(x, y, side="right") * m - _cdf_self(y) * n).max()
    return float(max(d1, d2)) / (n * m)


def _cdf_self(v: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """How many values are <= each value of sorted ``v`` (i + 1 when there are no ties)."""
    if v.size < 2 or bool(np.all(v[1:] != v[:-1])):
        return np.arange(1, v.size + 1)
    return np.searchsorted(v, v, side="right")


def _special() -> Any:
    try:
        from scipy import special  # optional dependency: bevel[data]
    except ImportError as exc:
        raise DataError(
            f"drift needs scipy, which is not installed ({exc})", hint="pip install 'bevel[data]'"
        ) from exc
    return special


def _ks_p_value(d: float, n: int, m: int) -> float:
    en = math.sqrt(n * m / (n + m))
    return float(min(1.0, max(0.0, _special().kolmogorov((en + 0.12 + 0.11 / en) * d))))


def _binned(v: np.ndarray[Any, Any], inner_edges: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Counts of sorted ``v`` in the bins ``(-inf, e0], (e0, e1], ..., (ek, inf)``."""
    cuts = np.searchsorted(v, inner_edges, side="right")
    return np.diff(np.concatenate(([0], cuts, [v.size])))


def _hist(v: np.ndarray[Any, Any], edges: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    cuts = np.searchsorted(v, edges[1:-1], side="left")
    return np.diff(np.concatenate(([0], cuts, [v.size])))


def _shares(counts: np.ndarray[Any, Any]) -> list[float]:
    total = counts.sum()
    return [float(c) / total if total else 0.0 for c in counts]


def _psi(ref_counts: np.ndarray[Any, Any], cur_counts: np.ndarray[Any, Any]) -> float:
    p = np.maximum(ref_counts / max(ref_counts.sum(), 1), _EPS)
    q = np.maximum(cur_counts / max(cur_counts.sum(), 1), _EPS)
    return float(np.sum((q - p) * np.log(q / p)))


def _categorical(name: str, kind: str, a: pd.Series, b: pd.Series) -> ColumnDrift:
    try:
        ref = a.value_counts(dropna=True)
        cur = b.value_counts(dropna=True)
    except TypeError:
        return _untested(name, "values are not hashable", kind)
    ref, cur = ref[ref > 0], cur[cur > 0]  # a category dtype lists unused categories too
    if ref.sum() == 0 or cur.sum() == 0:
        return _untested(name, "no values in one of the tables", kind)
    keep = list(ref.index[:_MAX_CATEGORIES])
    other_ref = int(ref.iloc[_MAX_CATEGORIES:].sum())
    ref_counts = [int(ref[k]) for k in keep]
    found = dict(zip(cur.index, cur.to_numpy()))
    cur_counts = [int(found.get(k, 0)) for k in keep]
    other_cur = int(cur.sum()) - sum(cur_counts)
    labels = [str(k) for k in keep]
    if other_ref or other_cur:
        labels.append("(other)")
        ref_counts.append(other_ref)
        cur_counts.append(other_cur)
    r, c = np.array(ref_counts, dtype=float), np.array(cur_counts, dtype=float)
    stat, p = _chi2_homogeneity(r, c)
    shown = min(len(labels), 12)
    return ColumnDrift(
        name,
        kind,
        "chi2",
        stat,
        p,
        _psi(r, c),
        False,
        labels=labels[:shown],
        reference=_shares(r)[:shown],
        current=_shares(c)[:shown],
    )


def _chi2_homogeneity(r: np.ndarray[Any, Any], c: np.ndarray[Any, Any]) -> tuple[float, float]:
    """Pearson's chi-square test that two count vectors come from one distribution."""
    keep = (r + c) > 0
    r, c = r[keep], c[keep]
    if r.size < 2:
        return 0.0, 1.0
    table = np.vstack([r, c])
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    stat = float(((table - expected) ** 2 / expected).sum())
    return stat, float(_special().chdtrc(r.size - 1, stat))
