"""drift(): found on shifted distributions, not on resamples of the same one (fixed seeds),
with statistics equal to scipy's reference implementations."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bevel.data import DriftReport, drift
from bevel.errors import DataError


def sample(
    n: int, seed: int, shift: float = 0.0, weights: tuple[float, ...] = (0.5, 0.3, 0.2)
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(shift, 1.0, n),
            "y": rng.exponential(2.0 + shift, n),
            "k": rng.integers(0, 5, n),
            "c": rng.choice(["a", "b", "c"], n, p=weights),
        }
    )


@pytest.mark.parametrize("n", [300, 200_000])
def test_a_resample_of_the_same_distribution_does_not_drift(n: int) -> None:
    report = drift(sample(n, seed=1), sample(n, seed=2))
    assert report.drifted == []
    assert report.drift_detected is False
    assert all(c.p_value is not None and c.psi is not None for c in report.columns)
    assert report.summary() == "no drift in 4 columns"


@pytest.mark.parametrize("n", [300, 200_000])
def test_a_shifted_distribution_drifts(n: int) -> None:
    shifted = sample(n, seed=2, shift=1.0, weights=(0.2, 0.3, 0.5))
    report = drift(sample(n, seed=1), shifted)
    assert set(report.drifted) == {"x", "y", "c"}  # k is unchanged
    assert report.drift_detected is True
    assert report.summary() == "dataset drift: 3 of 4 columns drifted (x, y, c)"
    assert report["x"].psi is not None and report["x"].psi > 0.25
    assert report["k"].drifted is False


def test_large_samples_need_a_real_change_not_just_significance() -> None:
    a = sample(200_000, seed=1)
    b = a.assign(x=a.x + 0.02)  # tiny but significant at this size
    col = drift(a, b)["x"]
    assert col.p_value is not None and col.p_value < 0.05
    assert col.psi is not None and col.psi < 0.1
    assert col.drifted is False


def test_statistics_match_scipy() -> None:
    a, b = sample(3_000, seed=5), sample(2_000, seed=6, shift=0.1)
    report = drift(a, b)
    ks = stats.ks_2samp(a.x, b.x, method="asymp")
    assert report["x"].test == "ks"
    assert report["x"].statistic == pytest.approx(ks.statistic)
    assert report["x"].p_value == pytest.approx(ks.pvalue, rel=0.1, abs=1e-3)
    ks_ties = stats.ks_2samp(a.k, b.k, method="asymp")  # integers: many ties
    assert report["k"].statistic == pytest.approx(ks_ties.statistic)
    table = pd.crosstab(
        np.r_[np.zeros(len(a)), np.ones(len(b))], np.r_[a.c.to_numpy(), b.c.to_numpy()]
    ).to_numpy()
    chi2 = stats.chi2_contingency(table, correction=False)
    assert report["c"].test == "chi2"
    assert report["c"].statistic == pytest.approx(chi2.statistic)
    assert report["c"].p_value == pytest.approx(chi2.pvalue)


def test_psi_by_hand() -> None:
    ref = pd.DataFrame({"c": ["a"] * 50 + ["b"] * 50})
    cur = pd.DataFrame({"c": ["a"] * 80 + ["b"] * 20})
    expected = (0.8 - 0.5) * np.log(0.8 / 0.5) + (0.2 - 0.5) * np.log(0.2 / 0.5)
    assert drift(ref, cur)["c"].psi == pytest.approx(expected)


def test_missing_columns_kind_changes_datetimes_and_missing_values() -> None:
    ref = pd.DataFrame(
        {
            "t": pd.date_range("2024-01-01", periods=400, freq="h"),
            "v": np.arange(400.0),
            "only_ref": 1,
            "s": ["a", "b"] * 200,
        }
    )
    cur = pd.DataFrame(
        {
            "t": pd.date_range("2024-03-01", periods=400, freq="h"),
            "v": np.r_[np.arange(300.0), [np.nan] * 100],
            "only_cur": 2,
            "s": np.arange(400.0),
        }
    )
    report = drift(ref, cur)
    assert report["t"].drifted is True and report["t"].kind == "datetime"
    assert report["v"].missing_current == pytest.approx(0.25) and report["v"].missing_reference == 0
    assert (report["only_ref"].test, report["only_ref"].note) == (
        "none",
        "not in the current table",
    )
    assert report["only_cur"].note == "not in the reference table"
    assert report["s"].test == "none" and "kind changed" in report["s"].note
    assert [c.column for c in report.tested] == ["t", "v"]
    assert list(drift(ref, cur, columns=["v"]).to_frame().index) == ["v"]


def test_bad_parameters_are_clear_errors() -> None:
    a = sample(10, seed=1)
    with pytest.raises(DataError, match="alpha must be in") as err:
        drift(a, a, alpha=2)
    assert "defaults" in (err.value.hint or "")
    with pytest.raises(DataError, match="not a table"):
        drift(a, [1, 2])


def test_report_round_trip_frame_and_html() -> None:
    report = drift(sample(500, seed=1), sample(500, seed=3, shift=1.0))
    assert DriftReport.from_dict(json.loads(json.dumps(report.to_dict()))) == report
    frame = report.to_frame()
    assert list(frame.columns) == [
        "kind",
        "test",
        "statistic",
        "p_value",
        "psi",
        "drifted",
        "missing_reference",
        "missing_current",
    ]
    assert bool(frame.loc["x", "drifted"]) is True
    html = report.html()
    assert "drift" in html.lower() and "<svg" in html


def test_large_columns_are_compared_on_a_seeded_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    from bevel.data import drift_detection

    monkeypatch.setattr(drift_detection, "KS_SAMPLE", 2_000)
    reference = sample(50_000, seed=1)
    same, shifted = sample(50_000, seed=2), sample(50_000, seed=3, shift=1.0)
    assert drift(reference, same).drifted == []
    assert set(drift(reference, shifted).drifted) >= {"x", "y"}
    assert drift(reference, shifted) == drift(reference, shifted)  # reproducible
    assert drift(reference, shifted)["x"].missing_current == 0.0
