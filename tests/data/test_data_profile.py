"""profile(): statistics equal to values computed by hand (or by numpy/pandas) on generated
data, for every kind of column and the awkward cases (empty, one row, all missing)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from bevel.data import Profile, profile
from bevel.errors import DataError


def test_numbers_with_missing_values_match_hand_computed_statistics() -> None:
    p = profile(pd.DataFrame({"x": [1.0, 2.0, np.nan, 4.0]}))
    x = p["x"]
    assert (x.kind, x.dtype, x.count, x.missing, x.distinct) == ("numeric", "float64", 3, 1, 3)
    assert (x.min, x.max) == (1.0, 4.0)
    assert x.mean == pytest.approx(7 / 3)
    assert x.std == pytest.approx(math.sqrt(7 / 3))  # sample std (ddof=1) of 1, 2, 4
    # linear interpolation between order statistics: 25% lies halfway between 1 and 2
    assert x.quantiles == pytest.approx({"5%": 1.1, "25%": 1.5, "50%": 2.0, "75%": 3.0, "95%": 3.8})
    assert x.missing_share == 0.25
    assert x.estimated == []
    assert p.rows == 4 and p.sample is None


def test_integers_get_one_histogram_bin_per_value_and_top_values() -> None:
    p = profile(pd.DataFrame({"n": [0, 1, 1, 2, 2, 2, 9]}))
    n = p["n"]
    assert (n.min, n.max) == (0, 9) and isinstance(n.min, int)
    assert n.histogram is not None
    assert n.histogram.counts == [1, 2, 3, 0, 0, 0, 0, 0, 0, 1]
    assert n.histogram.edges[0] == -0.5 and n.histogram.edges[-1] == 9.5
    assert n.top == [(2, 3), (1, 2), (0, 1), (9, 1)]


def test_float_histogram_and_statistics_agree_with_numpy_and_pandas() -> None:
    rng = np.random.default_rng(7)
    values = rng.normal(10, 3, size=5_000)
    values[::97] = np.nan
    s = pd.Series(values)
    col = profile(s.to_frame("v"))["v"]
    finite = values[~np.isnan(values)]
    counts, edges = np.histogram(finite, bins=20)
    assert col.histogram is not None
    assert col.histogram.counts == counts.tolist()
    assert col.histogram.edges == pytest.approx(edges.tolist())
    assert col.mean == pytest.approx(s.mean())
    assert col.std == pytest.approx(s.std())
    assert col.quantiles["50%"] == pytest.approx(s.median())
    assert col.quantiles["95%"] == pytest.approx(s.quantile(0.95))
    assert col.distinct == s.nunique()
    assert col.missing == int(s.isna().sum())
    assert col.top == []  # too many distinct values for a top list


def test_categories_count_missing_distinct_and_most_frequent() -> None:
    df = pd.DataFrame({"city": ["a", "b", "a", None, "c", "a"]})
    c = profile(df)["city"]
    assert (c.kind, c.count, c.missing, c.distinct) == ("categorical", 5, 1, 3)
    assert c.top == [("a", 3), ("b", 1), ("c", 1)]
    assert c.mean is None and c.histogram is None


def test_category_dtype_ignores_unused_categories_and_object_strings_are_categorical() -> None:
    cat = pd.Series(["x", "y", "x"], dtype=pd.CategoricalDtype(["x", "y", "z"]))
    obj = pd.Series(["u", "v", None], dtype=object)
    p = profile(pd.DataFrame({"cat": cat, "obj": obj}))
    assert (p["cat"].dtype, p["cat"].distinct, p["cat"].top) == (
        "category",
        2,
        [("x", 2), ("y", 1)],
    )
    assert (p["obj"].kind, p["obj"].dtype, p["obj"].missing) == ("categorical", "str", 1)


def test_booleans_report_the_share_of_true() -> None:
    b = profile(pd.DataFrame({"b": pd.array([True, False, True, None], dtype="boolean")}))["b"]
    assert (b.kind, b.count, b.missing, b.distinct) == ("boolean", 3, 1, 2)
    assert b.mean == pytest.approx(2 / 3)
    assert b.top == [(True, 2), (False, 1)]


def test_datetimes_give_iso_ranges_and_a_std_in_seconds() -> None:
    when = pd.to_datetime(["2024-01-01", "2024-01-03", None, "2024-01-05"])
    d = profile(pd.DataFrame({"when": when}))["when"]
    assert (d.kind, d.count, d.missing) == ("datetime", 3, 1)
    assert (d.min, d.max, d.mean) == (
        "2024-01-01T00:00:00",
        "2024-01-05T00:00:00",
        "2024-01-03T00:00:00",
    )
    assert d.std == pytest.approx(2 * 86400)  # two days, in seconds
    assert d.quantiles["50%"] == "2024-01-03T00:00:00"
    aware = profile(pd.DataFrame({"t": when.tz_localize("Europe/Paris")}))["t"]
    assert aware.dtype == "datetime64[Europe/Paris]"
    assert aware.min == "2024-01-01T00:00:00+01:00"


def test_empty_frame_single_row_and_all_missing_columns() -> None:
    empty = profile(
        pd.DataFrame({"x": pd.Series([], dtype=float), "s": pd.Series([], dtype=object)})
    )
    assert empty.rows == 0
    assert [(c.count, c.missing, c.mean, c.distinct) for c in empty.columns] == [
        (0, 0, None, None)
    ] * 2
    assert profile(pd.DataFrame()).columns == []

    one = profile(pd.DataFrame({"x": [5.0], "s": ["k"]}))
    assert (one["x"].min, one["x"].max, one["x"].mean, one["x"].std) == (5.0, 5.0, 5.0, None)
    assert set(one["x"].quantiles.values()) == {5.0}
    assert one["x"].histogram is not None and sum(one["x"].histogram.counts) == 1
    assert one["s"].top == [("k", 1)]

    nulls = profile(pd.DataFrame({"f": [np.nan] * 3, "o": [None] * 3}))
    for col in nulls.columns:
        assert (col.count, col.missing, col.mean, col.distinct, col.top) == (0, 3, None, None, [])
    for report in (empty, one, nulls):
        assert "<table" in report.html()


def test_infinities_are_counted_and_left_out_of_the_statistics() -> None:
    x = profile(pd.DataFrame({"x": [1.0, np.inf, 3.0, -np.inf, np.nan]}))["x"]
    assert (x.count, x.missing, x.infinite) == (4, 1, 2)
    assert (x.min, x.max, x.mean) == (1.0, 3.0, 2.0)


def test_sampling_keeps_counts_and_ranges_exact_and_is_reproducible() -> None:
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"x": rng.normal(size=20_000), "c": rng.choice(list("abc"), size=20_000)})
    df.loc[::10, "x"] = np.nan
    exact = profile(df)
    sampled = profile(df, sample=2_000)
    assert sampled.sample == 2_000 and exact.sample is None
    for name in ("x", "c"):
        assert (sampled[name].count, sampled[name].missing) == (
            exact[name].count,
            exact[name].missing,
        )
    assert (sampled["x"].min, sampled["x"].max) == (exact["x"].min, exact["x"].max)
    assert sampled["x"].mean == pytest.approx(exact["x"].mean, abs=0.1)
    assert set(sampled["x"].estimated) == {"mean", "std", "distinct", "quantiles", "histogram"}
    assert sampled["x"].distinct is not None and sampled["x"].distinct <= 2_000
    assert sampled == profile(df, sample=2_000)  # seeded
    assert profile(df, sample=50_000) == exact  # a sample larger than the table: exact


def test_pyarrow_tables_and_series_are_accepted_and_other_things_refused() -> None:
    df = pd.DataFrame({"x": [1.0, 2.0], "s": ["a", "b"]})
    from_arrow = profile(pa.Table.from_pandas(df, preserve_index=False))
    assert [(c.name, c.kind, c.count) for c in from_arrow.columns] == [
        ("x", "numeric", 2),
        ("s", "categorical", 2),
    ]
    assert profile(pd.Series([1, 2, 3], name="n")).names == ["n"]
    with pytest.raises(DataError, match="not a table") as err:
        profile([1, 2, 3])
    assert err.value.hint and "DataFrame" in err.value.hint


def test_to_frame_has_one_row_per_column() -> None:
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "s": ["a", "a", "b"]})
    frame = profile(df).to_frame()
    assert list(frame.index) == ["x", "s"]
    assert frame.loc["x", "mean"] == 2.0 and frame.loc["x", "50%"] == 2.0
    assert frame.loc["s", "top"] == "a" and frame.loc["s", "top_count"] == 2
    assert frame.loc["s", "missing"] == 0


def test_json_round_trip_gives_an_equal_profile() -> None:
    df = pd.DataFrame(
        {
            "x": [1.5, None, 3.0],
            "n": [1, 2, 2],
            "s": ["a", "b", None],
            "t": pd.to_datetime(["2024-01-01", None, "2024-02-01"]),
            "b": [True, False, True],
        }
    )
    original = profile(df)
    again = Profile.from_dict(json.loads(json.dumps(original.to_dict())))
    assert again == original


def test_non_string_and_duplicate_column_names() -> None:
    df = pd.DataFrame([[1, 2, 3]], columns=[0, "a", "a"])
    assert profile(df).names == ["0", "a", "a"]
