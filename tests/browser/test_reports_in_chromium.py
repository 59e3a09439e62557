"""Every kind of HTML report bevel writes, opened in headless Chromium: it renders offline (no
request leaves the page), without console errors, with its charts and images; a screenshot of
each is kept (see conftest.py)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from PIL import Image

from bevel import Client, MarkdownString, log_metric, pipeline, step
from bevel.api import run_pipeline
from bevel.data import drift, infer_schema, profile, validate
from bevel.viz.html import external_references, page

if TYPE_CHECKING:
    from browser_pages import Browser, PageCheck


def frame(n: int = 3_000, seed: int = 0, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "age": rng.integers(18, 90, n),
            "income": rng.lognormal(10 + shift, 0.5, n),
            "city": rng.choice(["Berlin", "Paris", "Rome", "Madrid"], n, p=[0.4, 0.3, 0.2, 0.1]),
            "joined": pd.date_range("2023-01-01", periods=n, freq="h"),
            "vip": rng.random(n) < 0.2,
            "score": rng.normal(shift, 1, n),
        }
    )
    df.loc[df.sample(frac=0.1, random_state=seed).index, "score"] = np.nan
    return df


def assert_clean(check: PageCheck) -> None:
    assert check.console == [] and check.errors == []
    assert check.requests == []  # nothing loaded from outside the file
    assert check.broken_images == 0
    assert check.screenshot is not None and check.screenshot.stat().st_size > 10_000


def write(tmp_path: Path, name: str, html: str) -> Path:
    assert external_references(html) == []
    target = tmp_path / f"{name}.html"
    target.write_text(html, encoding="utf-8")
    return target


def test_data_reports(chromium: Browser, tmp_path: Path) -> None:
    reference = frame()
    broken = reference.drop(columns=["vip"]).assign(extra=1)
    broken.loc[:9, "city"] = "Oslo"
    broken.loc[:4, "age"] = 200
    reports = {
        "statistics": (profile(reference).html(), ["Statistics", "3,000 rows", "Berlin"]),
        "schema": (infer_schema(reference).html(), ["Schema", "Berlin, Madrid, Paris, Rome"]),
        "anomalies": (
            validate(broken, infer_schema(reference)).html(),
            ["missing column", "unseen category", "Oslo", "out of range"],
        ),
        "drift": (
            drift(reference, frame(seed=1, shift=0.6)).html(),
            ["Drift", "drifted", "stable"],
        ),
    }
    for name, (html, texts) in reports.items():
        check = chromium.check(write(tmp_path, name, page(name, [html])), f"report-{name}")
        assert_clean(check)
        assert (check.svgs > 0) == (name in ("statistics", "drift"))  # inline SVG charts
        for text in texts:
            assert text in check.text, (name, text)


@step
def table() -> pd.DataFrame:
    return frame(500)


@step
def matrix() -> np.ndarray:
    return np.random.default_rng(2).normal(size=(120, 200)).cumsum(axis=1)


@step
def chart(df: pd.DataFrame) -> Figure:
    fig = Figure(figsize=(5, 3), dpi=90)
    ax = fig.subplots()
    ax.hist(df["score"].dropna(), bins=30)
    ax.set_title("score")
    return fig


@step
def picture() -> Image.Image:
    grid = np.indices((90, 160)).sum(axis=0)
    return Image.fromarray(
        np.dstack([grid % 256, grid * 2 % 256, 255 - grid % 256]).astype("uint8")
    )


@step
def notes(df: pd.DataFrame) -> Annotated[MarkdownString, "notes"]:
    return MarkdownString(f"# Notes\n\n{len(df)} rows.\n\n| city | rows |\n|---|---|\n| Rome | 1 |")


@pipeline
def gallery() -> None:
    df = table()
    matrix()
    chart(df)
    picture()
    notes(df)


EXPECTED = {
    "table": (["Preview", "Statistics", "Berlin", "Metadata"], 0),
    "matrix": (["Array", "120 \u00d7 200", "heatmap"], 1),
    "chart": (["figure", "width_px"], 1),
    "picture": (["image", "mode", "RGB"], 1),
    "notes": (["Notes", "500 rows."], 0),
}


def test_artifact_visualizations(chromium: Browser, bevel_home: Path, tmp_path: Path) -> None:
    run = run_pipeline(gallery)
    for step_id, (texts, images) in EXPECTED.items():
        shown = run.steps[step_id].output.visualize()
        check = chromium.check(write(tmp_path, step_id, shown.html()), f"artifact-{step_id}")
        assert_clean(check)
        assert check.images == images, step_id
        for text in texts:
            assert text in check.text, (step_id, text)


@step
def fit(C: float, depth: int = 3) -> float:
    for epoch in range(8):
        log_metric("loss", 1.0 / (1 + epoch * C) + depth / 100, step=epoch)
    log_metric("accuracy", 0.8 + C / 50 - abs(depth - 4) / 100)
    log_metric("f1", 0.7 + C / 40)
    return C


@pipeline
def sweep(C: float = 1.0, depth: int = 3) -> None:
    fit(C=C, depth=depth)


def test_run_comparison_report(chromium: Browser, bevel_home: Path, tmp_path: Path) -> None:
    runs = [
        run_pipeline(sweep, params={"C": c, "depth": d}, run_name=f"C{c}-d{d}")
        for c, d in ((0.5, 3), (1.0, 4), (2.0, 5), (4.0, 4))
    ]
    with Client() as client:
        html = client.compare_report(runs, metric="accuracy").html()
    check = chromium.check(write(tmp_path, "compare", html), "compare-runs")
    assert_clean(check)
    assert check.svgs >= 5  # 2 metric bars, 1 series, 1 parallel coordinates (+ sparklines)
    for text in ("Runs side by side", "Metrics per run", "Metric series", "C4.0-d4", "Parameters"):
        assert text in check.text, text
