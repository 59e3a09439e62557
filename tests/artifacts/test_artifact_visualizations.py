"""Visualizations are produced when an artifact is saved, stored beside it in any artifact store,
and read back by ``artifact.visualize()`` and ``bevel artifacts visualize``; each supported type
round-trips through its materializer."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from PIL import Image

from bevel import Client, CSVString, HTMLString, JSONString, MarkdownString, pipeline, step
from bevel.api import run_pipeline
from bevel.artifacts.local import LocalArtifactStore
from bevel.artifacts.materializers.registry import resolve_materializer, type_ref
from bevel.artifacts.publish import artifact_path, load_artifact, save_artifact
from bevel.viz.html import esc, external_references
from bevel.viz.kinds import kind_of, to_fragment

matplotlib.use("Agg")


def figure() -> Figure:
    fig = Figure(figsize=(4, 3), dpi=80)
    ax = fig.subplots()
    ax.plot([0, 1, 2], [2, 0, 1])
    ax.set_title("a line")
    return fig


def gradient(mode: str = "RGB") -> Image.Image:
    base = Image.fromarray((np.indices((40, 60)).sum(0) * 3 % 256).astype("uint8"))
    return base.convert(mode)


@pytest.fixture
def store(tmp_path: Path) -> LocalArtifactStore:
    return LocalArtifactStore(str(tmp_path / "store"))


def save(store: LocalArtifactStore, obj: Any, **kwargs: Any) -> tuple[Any, dict[str, bytes]]:
    ref = resolve_materializer(type(obj))
    assert ref is not None, type(obj)
    saved = save_artifact(store, obj, ref, **kwargs)
    loaded = load_artifact(
        store,
        uri=saved.uri,
        materializer=ref,
        type_ref=type_ref(type(obj)),
        content_hash=saved.content_hash,
        name="t",
    )
    files = {}
    for name, uri in saved.visualizations.items():
        path = artifact_path(store, uri)
        assert path.startswith(f"viz/{saved.content_hash[7:]}/")  # beside the artifact
        with store.open(path, "rb") as fh:
            files[f"{name}{os.path.splitext(path)[1]}"] = fh.read()
    return loaded, files


CASES: list[tuple[str, Any, dict[str, str]]] = [
    (
        "frame",
        pd.DataFrame({"x": [1.5, 2.5], "city": ["Rome", "Oslo"]}),
        {"preview.html": "Oslo", "statistics.html": "Statistics"},
    ),
    (
        "series",
        pd.Series([1, 2, 3], name="n"),
        {"preview.html": "dtype", "statistics.html": "numeric"},
    ),
    ("vector", np.sin(np.linspace(0, 6, 500)), {"array.html": "<polyline"}),
    ("matrix", np.arange(12.0).reshape(3, 4), {"array.html": "data:image/png;base64,"}),
    ("scalar", np.float64(2.5), {"array.html": "2.5"}),
    ("figure", figure(), {"figure.png": "\x89PNG"}),
    ("image", gradient(), {"image.png": "\x89PNG"}),
    ("html", HTMLString("<h3>Hello</h3>"), {"html.html": "<h3>Hello</h3>"}),
    ("markdown", MarkdownString("# Title\n\n- a"), {"markdown.md": "# Title"}),
    ("csv", CSVString("a,b\n1,2\n"), {"csv.csv": "a,b"}),
    ("json", JSONString('{"k": 1}'), {"json.json": '"k"'}),
    ("dict", {"accuracy": 0.9, "labels": ["a", "b"]}, {"json.json": '"accuracy": 0.9'}),
]


@pytest.mark.parametrize(("label", "obj", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_type_stores_its_visualizations_at_save_time(
    store: LocalArtifactStore, label: str, obj: Any, expected: dict[str, str]
) -> None:
    _, files = save(store, obj)
    assert set(files) == set(expected)
    for name, marker in expected.items():
        data = files[name]
        assert marker.encode("latin-1") in data, (name, data[:200])
        html = to_fragment(kind_of(name), data, title=name)
        assert external_references(html) == []
        assert "<script" not in html


def test_visualize_false_stores_none(store: LocalArtifactStore) -> None:
    ref = resolve_materializer(pd.DataFrame)
    assert ref is not None
    saved = save_artifact(store, pd.DataFrame({"x": [1]}), ref, visualize=False)
    assert saved.visualizations == {}
    assert not store.exists("viz")


def test_figures_images_and_text_types_round_trip(store: LocalArtifactStore) -> None:
    fig, _ = save(store, figure())
    assert isinstance(fig, Figure)
    assert list(fig.get_size_inches()) == [4.0, 3.0] and fig.dpi == 80
    for mode in ("RGB", "L", "RGBA", "CMYK"):
        original = gradient(mode)
        loaded, files = save(store, original)
        assert (loaded.mode, loaded.size) == (mode, original.size)
        assert loaded.tobytes() == original.tobytes()
        assert set(files) == {"image.png"}  # CMYK is stored as TIFF but shown as a PNG
    for value in (
        HTMLString("<p>x</p>"),
        MarkdownString("*x*\r\n"),
        CSVString("a\n1"),
        JSONString("[1]"),
    ):
        loaded, _ = save(store, value)
        assert type(loaded) is type(value) and loaded == value


def test_markdown_is_rendered_with_raw_html_escaped_and_csv_as_a_table() -> None:
    md = to_fragment(
        "markdown", b"# Hi\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n<script>alert(1)</script>"
    )
    assert "<h1>Hi</h1>" in md and "<td>1</td>" in md
    assert "<script>" not in md and "&lt;script&gt;" in md
    csv = to_fragment("csv", b"name,score\nann,3\nbob,4\n")
    assert "<th>name</th>" in csv and "<td>bob</td>" in csv
    svg = to_fragment("svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>x()</script></svg>')
    assert svg.count("<img") == 1 and "<script" not in svg  # embedded as an image: inert


@pytest.mark.parametrize(
    "value", ['<a href="x">&amp;</a>', "it's", "plain", "", "é & <b> \"q\" 'a'", 3.5, None]
)
def test_values_are_escaped_as_html_escape_does(value: object) -> None:
    """bevel.viz.html escapes without importing html (its entity table): same text."""
    import html

    assert esc(value) == html.escape("" if value is None else str(value), quote=True)


def test_a_path_artifact_shows_its_file_or_its_folder(
    store: LocalArtifactStore, tmp_path: Path
) -> None:
    report = tmp_path / "scores.csv"
    report.write_text("model,auc\na,0.9\n")
    _, files = save(store, report)
    assert files == {"scores.csv.csv": b"model,auc\na,0.9\n"}
    folder = tmp_path / "model"
    (folder / "weights").mkdir(parents=True)
    (folder / "weights" / "w.bin").write_bytes(b"0" * 10)
    _, files = save(store, folder)
    assert b"weights/w.bin" in files["files.html"]


class Broken:
    pass


class BrokenMaterializer:
    def save(self, obj: Any, directory: str) -> None:
        Path(directory, "x").write_text("x")

    def load(self, directory: str, type_: type | None) -> Any:
        return Broken()

    def visualizations(self, obj: Any) -> dict[str, Any]:
        return {"bad": b"not a png"}


def test_a_bad_visualization_only_warns(store: LocalArtifactStore) -> None:
    from bevel import register_materializer

    register_materializer(Broken, BrokenMaterializer)
    with pytest.warns(Warning, match="visualizations\\(\\) failed.*PNG"):
        saved = save_artifact(store, Broken(), type_ref(BrokenMaterializer))
    assert saved.visualizations == {}


# --- in pipelines: per step, per run, read back ----------------------------------------------


@step
def table(n: int = 50) -> pd.DataFrame:
    rng = np.random.default_rng(n)
    return pd.DataFrame({"x": rng.normal(size=n), "k": rng.choice(["a", "b"], n)})


@step(visualize=False)
def quiet_table(n: int = 50) -> pd.DataFrame:
    return pd.DataFrame({"y": np.arange(n)})


@pipeline
def tables(n: int = 50) -> None:
    table(n)
    quiet_table(n)


def outputs(run: Any) -> dict[str, Any]:
    return {sid: s.output for sid, s in run.steps.items()}


def test_steps_and_runs_turn_visualizations_off(bevel_home: Path, tmp_path: Path) -> None:
    run = run_pipeline(tables)
    arts = outputs(run)
    assert set(arts["table"].visualizations) == {"preview", "statistics"}
    assert arts["quiet_table"].visualizations == {}
    off = outputs(run_pipeline(tables, params={"n": 60}, visualize=False))
    assert off["table"].visualizations == {} and off["quiet_table"].visualizations == {}
    config = {"visualize": False, "steps": {"quiet_table": {"visualize": True}}}
    mixed = outputs(run_pipeline(tables, params={"n": 70}, config=config))
    assert mixed["table"].visualizations == {}
    assert set(mixed["quiet_table"].visualizations) == {"preview", "statistics"}
    forced = outputs(tables.with_options(visualize=False)(n=80))
    assert forced["table"].visualizations == {}


def test_visualize_reads_what_was_stored_and_computes_what_was_not(bevel_home: Path) -> None:
    arts = outputs(run_pipeline(tables))
    shown = arts["table"].visualize()
    assert shown.names == ["preview", "statistics", "metadata"] and shown.note == ""
    html = shown._repr_html_()
    assert "Preview" in html and "Statistics" in html and "tables.table.output v1" in html
    quiet = arts["quiet_table"].visualize()
    assert quiet.names == ["preview", "statistics", "metadata"]
    assert "computed now" in quiet.note
    viz_root = bevel_home / "artifacts" / "viz"
    stored = {p.name for p in viz_root.iterdir()}
    assert arts["quiet_table"].content_hash[7:] not in stored  # reading never writes
    page = shown.html()
    assert page.startswith("<!DOCTYPE html>") and external_references(page) == []


@step
def metrics_dict() -> dict[str, float]:
    return {"a": 1.0}


@step
def plain_int() -> int:
    return 3


@pipeline
def small() -> None:
    metrics_dict()
    plain_int()


def test_types_without_visualizations_show_their_metadata(bevel_home: Path) -> None:
    run = run_pipeline(small)
    shown = run.steps["plain_int"].output.visualize()
    assert shown.names == ["metadata"] and "int" in shown.html()


def test_a_missing_visualization_file_is_reported_not_fatal(bevel_home: Path) -> None:
    art = outputs(run_pipeline(tables))["table"]
    Path(art.visualizations["preview"]).unlink()
    shown = art.visualize()
    assert "missing from the artifact store" in shown.html()
    assert "Statistics" in shown.html()


@pytest.mark.servers
def test_visualizations_live_in_an_s3_artifact_store(
    s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bevel.artifacts.fsspec_store import FsspecArtifactStore
    from bevel.metadata.sql.store import SqlMetadataStore
    from bevel.orchestrators.local import LocalOrchestrator
    from bevel.stack.stack import Stack

    monkeypatch.setenv("BEVEL_HOME", str(tmp_path / ".bevel"))
    monkeypatch.setenv("BEVEL_CACHE_DIR", str(tmp_path / "cache"))
    store = FsspecArtifactStore(f"s3://{s3.new_bucket()}/team", **s3.storage_options)
    stack = Stack(
        name="team",
        orchestrator=LocalOrchestrator(),
        artifact_store=store,
        metadata_store=SqlMetadataStore(f"sqlite:///{tmp_path / 'meta.db'}"),
    )
    try:
        run = run_pipeline(tables, stack=stack)
        art = run.steps["table"].output
        uris = art.visualizations
        assert all(u.startswith("s3://") and "/viz/" in u for u in uris.values())
        shown = Client(stack).get_artifact(art.id).visualize()
        assert shown.names == ["preview", "statistics", "metadata"]
        assert "Statistics" in shown.html()
    finally:
        stack.close()


# --- the CLI ---------------------------------------------------------------------------------


def test_cli_writes_one_self_contained_file_and_opens_it(
    bevel_home: Path, tmp_path: Path, invoke: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    art = outputs(run_pipeline(tables))["table"]
    result = invoke("artifacts", "visualize", art.id[:10])
    assert result.exit_code == 0, result.output
    default = tmp_path / "tables.table.output-v1.html"
    assert f"wrote {default.name}" in result.output
    html = default.read_text()
    assert html.startswith("<!DOCTYPE html>") and external_references(html) == []
    assert "Preview" in html and "Statistics" in html
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.py"
    browser.write_text(f"import sys; open({str(opened)!r}, 'w').write(sys.argv[1])\n")
    monkeypatch.setenv("BROWSER", f"{sys.executable} {browser} %s")
    target = tmp_path / "reports" / "a.html"  # a folder that does not exist yet
    result = invoke("artifacts", "visualize", art.id, "-o", str(target), "--open")
    assert result.exit_code == 0, result.output
    assert opened.read_text() == target.resolve().as_uri()


def test_cli_unknown_artifact_is_a_clear_error(bevel_home: Path, invoke: Any) -> None:
    run_pipeline(small)  # a project with runs, so the id is what is wrong
    result = invoke("artifacts", "visualize", "nope-nope")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "nope-nope" in result.output


@pytest.mark.parametrize(
    "values",
    [
        np.random.default_rng(0).normal(size=50_000),
        np.random.default_rng(1).integers(0, 7, size=10_000).astype(float),  # values on edges
        np.array([3.0, 3.0, 3.0]),
        np.linspace(-1e300, 1e300, 1000),
    ],
)
def test_the_array_histogram_counts_every_value_in_numpys_bins(values: np.ndarray) -> None:
    """The fast histogram of an array's visualization has numpy's edges and counts each value
    once; a value may move to a neighbouring bin only when it lies on an inner edge."""
    from bevel.artifacts.materializers._array_viz import _histogram

    counts, edges = _histogram(values, float(values.min()), float(values.max()))
    expected, expected_edges = np.histogram(values, bins=30)
    np.testing.assert_allclose(edges, expected_edges)
    assert counts.sum() == values.size
    on_edges = np.isin(values, expected_edges[1:-1]).sum()
    assert np.abs(counts - expected).sum() <= 2 * on_edges + 2
