"""Comparing runs: Client().compare() as a DataFrame, the HTML report's charts, and
``bevel runs compare`` with the differing fields marked."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from bevel import Client, log_metric, pipeline, step
from bevel.api import run_pipeline
from bevel.client.compare import lower_is_better
from bevel.errors import ConfigError, NotFound
from bevel.viz import svg
from bevel.viz.html import external_references, num


@step
def fit(C: float, depth: int, seed: int = 7) -> float:
    for epoch in range(5):
        log_metric("loss", 1.0 / (1 + epoch * C), step=epoch)
    accuracy = 0.5 + C / 10 + depth / 100
    log_metric("accuracy", accuracy)
    return accuracy


@step
def report(accuracy: float, kind: str = "short") -> str:
    return f"{kind}: {accuracy:.2f}"


@pipeline
def sweep(C: float = 1.0, depth: int = 3) -> None:
    report(fit(C=C, depth=depth))


@pytest.fixture
def runs(bevel_home: Path) -> list[Any]:
    return [
        run_pipeline(sweep, params={"C": 1.0, "depth": 3}, run_name="base"),
        run_pipeline(sweep, params={"C": 2.0, "depth": 3}, run_name="bigger-c"),
        run_pipeline(
            sweep, params={"C": 0.5, "depth": 5}, run_name="deeper",
            config={"steps": {"report": {"parameters": {"kind": "long"}}}},
        ),
    ]  # fmt: skip


def test_compare_gives_one_row_per_run_with_params_metrics_and_durations(runs: list[Any]) -> None:
    with Client() as client:
        table = client.compare(["base", runs[1].id[:8], runs[2], "base"])
    assert isinstance(table, pd.DataFrame)
    assert list(table.index) == ["base", "bigger-c", "deeper"]  # given order, no repeats
    assert table.loc["bigger-c", "params.C"] == 2.0 and table.loc["deeper", "params.depth"] == 5
    # a step parameter that is not just a pipeline parameter passed down gets its own column
    assert list(table["steps.report.kind"]) == ["short", "short", "long"]
    assert list(table["steps.fit.seed"]) == [7, 7, 7]
    assert "steps.fit.C" not in table.columns
    assert table.loc["base", "metrics.accuracy"] == pytest.approx(0.5 + 0.1 + 0.03)
    assert table.loc["bigger-c", "metrics.loss"] == pytest.approx(1 / (1 + 4 * 2.0))  # last step
    assert set(table["status"]) == {"completed"}
    assert all(d >= 0 for d in table["duration"])
    assert {"duration.fit", "duration.report"} <= set(table.columns)
    assert list(table.columns[:4]) == ["pipeline", "status", "created", "duration"]


def test_compare_needs_runs_and_names_unknown_ones(runs: list[Any]) -> None:
    with Client() as client:
        with pytest.raises(ConfigError, match="no runs given") as err:
            client.compare([])
        assert "compare" in (err.value.hint or "")
        with pytest.raises(NotFound):
            client.compare(["base", "no-such-run"])
        # following the hint works: the runs of a pipeline
        assert len(client.compare(client.runs(pipeline="sweep", limit=5))) == 3


def test_the_report_has_every_chart_and_is_self_contained(runs: list[Any], tmp_path: Path) -> None:
    with Client() as client:
        report = client.compare_report(runs, metric="accuracy")
        html = report.save(tmp_path / "compare.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and external_references(html) == []
    assert "Runs side by side" in html and "bv-row-diff" in html
    assert "Metrics per run" in html and html.count("<rect") > 6  # bars per metric and run
    assert "Metric series" in html and "<polyline" in html  # loss over steps, a line per run
    assert "Parameters → accuracy" in html  # parallel coordinates
    assert set(report.differing) >= {
        "params.C",
        "params.depth",
        "metrics.accuracy",
        "steps.report.kind",
    }
    assert "steps.fit.seed" not in report.differing and "duration" not in report.differing
    assert "<table" in report._repr_html_()


def test_identical_runs_differ_in_nothing(bevel_home: Path) -> None:
    first = run_pipeline(sweep, run_name="one")
    second = run_pipeline(sweep, run_name="two", enable_cache=False)
    with Client() as client:
        report = client.compare_report([first, second])
    assert report.differing == []
    assert "no parameter or metric differs" in report.html()
    assert all(not math.isnan(v) for v in report.frame["metrics.accuracy"])


def test_cli_prints_the_table_and_marks_what_differs(
    runs: list[Any], invoke: Any, tmp_path: Path
) -> None:
    result = invoke("runs", "compare", "base", "bigger-c", "deeper")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    header = next(line for line in lines if "field" in line)
    assert "base" in header and "bigger-c" in header and "deeper" in header
    c_row = next(line for line in lines if "params.C " in line)
    assert c_row.lstrip().startswith("*") and "2" in c_row and "0.5" in c_row
    seed_row = next(line for line in lines if "steps.fit.seed" in line)
    assert not seed_row.lstrip().startswith("*")
    assert "fields differ (marked *)" in result.output

    only = invoke("runs", "compare", "--last", "3", "--pipeline", "sweep", "--diff", "--html",
                  str(tmp_path / "c.html"))  # fmt: skip
    assert only.exit_code == 0, only.output
    assert "steps.fit.seed" not in only.output and "params.depth" in only.output
    assert "equal fields hidden" in only.output
    assert (tmp_path / "c.html").read_text().startswith("<!DOCTYPE html>")


def test_cli_errors_say_what_to_do(runs: list[Any], invoke: Any) -> None:
    none = invoke("runs", "compare")
    assert none.exit_code == 2 and "--last" in none.output and "Traceback" not in none.output
    one = invoke("runs", "compare", "base")
    assert one.exit_code == 2 and "at least two runs" in one.output
    missing = invoke("runs", "compare", "base", "nope-nope")
    assert missing.exit_code == 1 and "nope-nope" in missing.output
    # the hint works as written
    assert invoke("runs", "compare", "--last", "2").exit_code == 0


def test_the_best_run_is_the_lowest_loss_and_the_highest_accuracy(runs: list[Any]) -> None:
    with Client() as client:
        report = client.compare_report(runs, metric="loss")
    html = report.html()

    def marked(metric: str) -> list[str]:  # the values drawn as the best run's (dark) bar
        panel = html.split(f"<h4>{metric}</h4>", 1)[1].split("</svg>", 1)[0]
        bars = re.findall(r'fill="(#[0-9a-f]+)"/><text[^>]*>([^<]+)</text>', panel)
        assert len(bars) == 3
        return [value for fill, value in bars if fill == svg.ACCENT]

    table = report.frame
    assert marked("loss") == [num(table.loc["bigger-c", "metrics.loss"])]  # 1/9, not deeper's 1/3
    assert marked("accuracy") == [num(table.loc["bigger-c", "metrics.accuracy"])]
    assert "coloured by loss (darker is better: lower)" in html


@pytest.mark.parametrize(
    ("name", "lower"),
    [
        ("loss", True),
        ("val_loss", True),
        ("train/mse", True),
        ("error_rate", True),
        ("latency_ms", True),
        ("accuracy", False),
        ("f1", False),
        ("auc", False),
        ("lossless_ratio", False),
    ],
)
def test_which_metrics_are_lower_is_better(name: str, lower: bool) -> None:
    assert lower_is_better(name) is lower
