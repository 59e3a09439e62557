"""infer_schema / validate: every anomaly kind is found with its count and examples, a clean
frame has none, and the schema survives YAML editing."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bevel.data import AnomaliesFound, AnomalyReport, Schema, infer_schema, validate
from bevel.errors import DataError, DataValidationFailed


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 200
    return pd.DataFrame(
        {
            "age": rng.integers(18, 90, n),
            "income": rng.normal(50_000, 8_000, n),
            "city": rng.choice(["Berlin", "Paris", "Rome"], n),
            "plan": pd.Categorical(
                rng.choice(["free", "pro"], n), categories=["free", "pro", "team"]
            ),
            "joined": pd.date_range("2024-01-01", periods=n, freq="D"),
            "user": [f"u{i}" for i in range(n)],
            "note": [None if i % 4 else "vip" for i in range(n)],
        }
    )


def test_infer_schema_records_types_nullability_ranges_and_categories(frame: pd.DataFrame) -> None:
    schema = infer_schema(frame)
    age, income, city = schema["age"], schema["income"], schema["city"]
    assert (age.dtype, age.kind, age.nullable) == ("int64", "numeric", False)
    assert (age.min, age.max) == (int(frame.age.min()), int(frame.age.max()))
    assert income.min == pytest.approx(frame.income.min())
    assert (city.dtype, city.kind, city.categories) == (
        "str",
        "categorical",
        ["Berlin", "Paris", "Rome"],
    )
    assert schema["plan"].categories == ["free", "pro", "team"]  # the declared categories
    assert schema["joined"].min == "2024-01-01T00:00:00"
    assert schema["user"].categories is None  # 200 distinct values: not a category set
    assert schema["note"].nullable is True and schema["note"].categories == ["vip"]
    assert schema.strict is True


def test_range_margin_widens_ranges_without_going_negative() -> None:
    df = pd.DataFrame({"count": [0, 10], "temp": [-5.0, 15.0]})
    schema = infer_schema(df, range_margin=0.1)
    assert (schema["count"].min, schema["count"].max) == (0, 11)  # not -1: never negative
    assert (schema["temp"].min, schema["temp"].max) == pytest.approx((-7.0, 17.0))
    with pytest.raises(DataError, match="range_margin"):
        infer_schema(df, range_margin=-1)


def test_a_clean_frame_has_no_anomalies_even_after_a_parquet_round_trip(
    frame: pd.DataFrame, tmp_path: Path
) -> None:
    schema = infer_schema(frame)
    report = validate(frame, schema)
    assert report.ok and len(report) == 0
    assert report.summary() == "no anomalies in 200 rows x 7 columns"
    path = tmp_path / "f.parquet"
    frame.astype({"city": object}).to_parquet(path)
    assert validate(pd.read_parquet(path), schema).ok  # object strings vs str storage: same type
    assert validate(frame.head(50), schema).ok  # a subset stays within the ranges


def test_every_anomaly_kind_is_detected_with_counts_and_examples(frame: pd.DataFrame) -> None:
    schema = infer_schema(frame)
    bad = frame.drop(columns=["user"]).copy()
    bad["extra"] = 1
    bad["income"] = bad["income"].round(2).astype(str)  # float -> str
    bad.loc[[3, 7, 9], "age"] = np.nan  # int64 -> float64, with nulls
    bad.loc[[1, 2], "age"] = 150.0
    bad.loc[[0, 5, 6], "city"] = ["Oslo", "Oslo", "Lima"]
    report = validate(bad, schema)
    kinds = {(a.column, a.kind) for a in report.anomalies}
    assert kinds == {
        ("user", "missing_column"),
        ("extra", "new_column"),
        ("income", "type_changed"),
        ("age", "type_changed"),
        ("age", "unexpected_nulls"),
        ("age", "out_of_range"),
        ("city", "unseen_category"),
    }
    by = {(a.column, a.kind): a for a in report.anomalies}
    assert by[("income", "type_changed")].detail == "expected float64, got str"
    assert by[("age", "type_changed")].detail == "expected int64, got float64"
    nulls = by[("age", "unexpected_nulls")]
    assert nulls.count == 3 and nulls.rows == [3, 7, 9]
    out = by[("age", "out_of_range")]
    assert out.count == 2 and out.examples == [150.0] and out.rows == [1, 2]
    unseen = by[("city", "unseen_category")]
    assert unseen.count == 3 and unseen.examples == ["Oslo", "Lima"]
    assert "'Oslo' (2 rows)" in unseen.detail
    # income became strings: its range check is skipped, not reported as thousands of failures
    assert [a.column for a in report.by_kind("out_of_range")] == ["age"]
    frame_view = report.to_frame()
    assert list(frame_view.columns) == ["column", "anomaly", "count", "share", "detail", "examples"]
    assert frame_view.loc[frame_view.anomaly == "unexpected_nulls", "share"].item() == 3 / 200
    assert "7 anomalies in 200 rows" in report.summary()


def test_a_category_dtype_column_with_a_new_category(frame: pd.DataFrame) -> None:
    schema = infer_schema(frame)
    bad = frame.copy()
    bad["plan"] = bad["plan"].cat.add_categories(["enterprise"])
    bad.loc[0, "plan"] = "enterprise"
    report = validate(bad, schema)
    assert [(a.column, a.kind, a.count) for a in report.anomalies] == [
        ("plan", "unseen_category", 1)
    ]


def test_policies_fail_warn_and_ignore(frame: pd.DataFrame) -> None:
    schema = infer_schema(frame)
    bad = frame.drop(columns=["city"])
    assert len(validate(bad, schema)) == 1  # ignore: just the report
    with pytest.warns(AnomaliesFound, match="1 anomaly in"):
        validate(bad, schema, on_anomaly="warn")
    with pytest.raises(DataValidationFailed) as err:
        validate(bad, schema, on_anomaly="fail")
    assert "city: missing column" in str(err.value)
    assert isinstance(err.value.report, AnomalyReport) and len(err.value.report) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        validate(frame, schema, on_anomaly="warn")  # clean: no warning
    with pytest.raises(DataError, match="on_anomaly must be one of"):
        validate(frame, schema, on_anomaly="explode")


def test_yaml_round_trip_and_editing_the_file(frame: pd.DataFrame, tmp_path: Path) -> None:
    schema = infer_schema(frame)
    path = schema.save(tmp_path / "schema.yaml")
    assert Schema.load(path) == schema
    text = path.read_text()
    assert text.startswith("# A bevel schema")
    edited = text.replace("    - Rome\n", "    - Rome\n    - Oslo\n")
    path.write_text(edited)
    oslo = frame.copy()
    oslo.loc[0, "city"] = "Oslo"
    assert not validate(oslo, schema).ok
    assert validate(oslo, Schema.load(path)).ok  # the edit is honoured
    assert Schema.from_dict(json.loads(json.dumps(schema.to_dict()))) == schema


def test_a_broken_schema_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "schema.yaml"
    path.write_text("columns:\n  age:\n    dtype: int64\n    kind: numeric\n    maximum: 3\n")
    with pytest.raises(DataError, match=r"schema\.yaml: column 'age': unknown key\(s\) maximum"):
        Schema.load(path)
    path.write_text("columns:\n  age: {dtype: int64, kind: number}\n")
    with pytest.raises(DataError, match="kind 'number' is not one of"):
        Schema.load(path)
    with pytest.raises(DataError, match="schema file not found") as err:
        Schema.load(tmp_path / "nope.yaml")
    hint = err.value.hint or ""
    assert "infer_schema(df).save(path)" in hint
    # following the hint works
    infer_schema(pd.DataFrame({"a": [1]})).save(tmp_path / "nope.yaml")
    assert Schema.load(tmp_path / "nope.yaml").columns["a"].dtype == "int64"


def test_to_pandera_never_coerces_a_changed_type(frame: pd.DataFrame) -> None:
    import pandera.pandas as pa

    checker = infer_schema(frame).to_pandera()
    assert checker.coerce is False and checker.strict is True
    assert all(col.coerce is False for col in checker.columns.values())
    checker.validate(frame)  # the inferred schema accepts its own data
    changed = frame.assign(income=frame.income.astype(str))
    with pytest.raises(pa.errors.SchemaErrors) as err:
        checker.validate(changed, lazy=True)
    assert "income" in set(err.value.failure_cases["column"])


def test_report_json_round_trip(frame: pd.DataFrame) -> None:
    report = validate(frame.drop(columns=["age"]), infer_schema(frame))
    assert AnomalyReport.from_dict(json.loads(json.dumps(report.to_dict()))) == report
    assert "missing column" in report.html()
