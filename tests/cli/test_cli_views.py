"""Seeing what a real run recorded: metric series, metadata, run-list columns, artifact values
and logs, through the views and the CLI (pipelines run in-process, the CLI through click)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import pytest
from click.testing import Result

from bevel import Client, current, log_metadata, log_metric, pipeline, step
from bevel.client import format as fmt
from bevel.materializers import Materializer

Invoke = Callable[..., Result]


def _ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout


@step
def fit(epochs: int = 5) -> float:
    for epoch in range(epochs):
        log_metric("loss", 1.0 / (epoch + 1), step=epoch)
    log_metadata({"device": "cpu", "rows": 120})
    log_metadata({"dataset": "iris", "split": [0.8, 0.2]}, run=True)
    current.log_metric("accuracy", 0.93)
    return 0.93


@pipeline
def training(epochs: int = 5) -> None:
    fit(epochs)


def test_metric_history_and_metadata_of_a_real_run(bevel_home: Path, invoke: Invoke) -> None:
    run = training(epochs=6)
    step_view = run.steps["fit"]
    assert step_view.metric_series["loss"].values == [1.0 / (i + 1) for i in range(6)]
    assert step_view.metric_series["loss"].steps == list(range(6))
    assert step_view.metrics == {"loss": pytest.approx(1 / 6), "accuracy": 0.93}
    assert step_view.metadata == {"device": "cpu", "rows": 120}
    assert run.metadata == {"dataset": "iris", "split": [0.8, 0.2]}
    with Client() as client:  # read back from the store, as another process would
        again = client.get_run(run.id)
        assert again.metric_series["loss"].last == pytest.approx(1 / 6)
        assert again.metadata == run.metadata

    out = _ok(invoke("runs", "show", run.name))
    loss = next(line for line in out.splitlines() if line.startswith("loss"))
    assert "█▄▂▂▁▁  6 points, 1 → 0.166667" in loss, out
    assert "dataset=iris" in out and "device" in out and "120" in out


def test_log_metadata_refuses_two_targets_and_bad_keys(bevel_home: Path) -> None:
    from bevel.errors import BevelError, RunFailed

    @step
    def both() -> None:
        log_metadata({"a": 1}, artifact="output", run=True)

    @pipeline
    def p() -> None:
        both()

    with pytest.raises(RunFailed) as err:
        p()
    assert isinstance(err.value.__cause__, BevelError)
    assert "artifact= or run=True, not both" in str(err.value.__cause__)


class Opaque:
    def __init__(self, n: int) -> None:
        self.n = n


@step(pickle=["opaque"])
def values() -> tuple[
    Annotated[int, "count"],
    Annotated[str, "label"],
    Annotated[dict[str, Any], "config"],
    Annotated[str, "essay"],
    Annotated[list[int], "big"],
    Annotated[pd.DataFrame, "frame"],
    Annotated[np.ndarray, "array"],
    Annotated[Opaque, "opaque"],
]:
    frame = pd.DataFrame({"x": range(50_000), "y": [f"row {i}" for i in range(50_000)]})
    essay = "\n".join(f"line {i}" for i in range(500))
    return (
        42,
        "hello world",
        {"lr": 0.1, "layers": [64, 32]},
        essay,
        list(range(300_000)),
        frame,
        np.arange(1_000_000).reshape(1000, 1000),
        Opaque(3),
    )


@pipeline
def many() -> None:
    values()


def _value_section(out: str) -> str:
    lines = out.splitlines()
    start = lines.index("value") + 1
    end = next((i for i in range(start, len(lines)) if lines[i] == ""), len(lines))
    return "\n".join(lines[start:end])


def test_artifacts_show_prints_small_values_and_heads(bevel_home: Path, invoke: Invoke) -> None:
    outputs = many().steps["values"].outputs

    def shown(name: str) -> str:
        return _value_section(_ok(invoke("artifacts", "show", outputs[name].id[:10])))

    assert shown("count") == "42"
    assert shown("label") == "hello world"
    assert shown("config") == '{\n  "lr": 0.1,\n  "layers": [\n    64,\n    32\n  ]\n}'
    essay = shown("essay").splitlines()
    assert essay[:2] == ["line 0", "line 1"] and len(essay) == 41  # 40 lines, then what was cut
    assert essay[-1] == "… (cut: the value has 500 lines, 4389 characters)"
    big = shown("big")
    assert big.startswith("(not shown: ") and "is more than the 1.0 MB shown here" in big
    assert f"Client().get_artifact({outputs['big'].id[:8]!r}).load()" in big
    frame = shown("frame").splitlines()
    assert frame[0].split() == ["x", "y"] and frame[1].split() == ["0", "0", "row", "0"]
    assert len(frame) == 12 and frame[-1] == "[50000 rows x 2 columns, first 10 shown]"
    array = shown("array")
    assert "..." in array and array.endswith("[shape (1000, 1000), dtype int64]")
    assert shown("opaque").startswith("(not shown: pickled, and unpickling runs code")
    out = _ok(invoke("artifacts", "show", outputs["count"].id[:10], "--no-value"))
    assert "\nvalue\n" not in out and "many.values.count v1" in out


def test_artifacts_show_survives_a_value_it_cannot_read(bevel_home: Path, invoke: Invoke) -> None:
    art = many().steps["values"].outputs["count"]
    data = Path(art.path()) / "data.json"
    data.chmod(0o644)
    data.write_text("41")  # the bytes no longer match the recorded hash
    out = _ok(invoke("artifacts", "show", art.id[:10]))
    value = _value_section(out)
    assert value.startswith("(not shown: artifact 'many.values.count v1' at "), value
    assert "not the recorded blake3:" in value and "hint: " in value
    assert "many.values.count v1" in out  # the rest of the record is still shown


class Grid:
    def __init__(self, rows: list[list[int]]) -> None:
        self.rows = rows


class GridMaterializer(Materializer):
    def save(self, obj: Grid, directory: str) -> None:
        with open(os.path.join(directory, "grid.json"), "w") as fh:
            json.dump(obj.rows, fh)

    def load(self, directory: str, type_: type | None) -> Grid:
        raise AssertionError("a preview must not need the whole value")

    def preview(self, directory: str, type_: type | None) -> str | None:
        with open(os.path.join(directory, "grid.json")) as fh:
            rows = json.load(fh)
        return f"{type_.__name__ if type_ else '?'}: {len(rows)} rows, first {rows[0]}"


@step(materializers={"output": GridMaterializer})
def grid() -> Grid:
    return Grid([[1, 2], [3, 4], [5, 6]])


@pipeline
def grids() -> None:
    grid()


def test_artifacts_show_uses_the_materializers_preview(bevel_home: Path, invoke: Invoke) -> None:
    art = grids().steps["grid"].output
    assert _value_section(_ok(invoke("artifacts", "show", art.id[:10]))) == (
        "Grid: 3 rows, first [1, 2]"
    )


class Weights:  # no __repr__ of its own
    def __init__(self, w: list[float], name: str) -> None:
        self.w, self.name, self._cache = w, name, {"big": list(range(1000))}


class WeightsMaterializer(Materializer):  # save and load only: no preview
    def save(self, obj: Weights, directory: str) -> None:
        with open(os.path.join(directory, "w.json"), "w") as fh:
            json.dump({"w": obj.w, "name": obj.name}, fh)

    def load(self, directory: str, type_: type | None) -> Weights:
        with open(os.path.join(directory, "w.json")) as fh:
            return Weights(**json.load(fh))


@step(materializers={"output": WeightsMaterializer})
def weights() -> Weights:
    return Weights([0.5, 0.25] + [0.0] * 20, "linear")


@pipeline
def fitted() -> None:
    weights()


def test_an_object_without_a_repr_is_shown_by_its_attributes(
    bevel_home: Path, invoke: Invoke
) -> None:
    art = fitted().steps["weights"].output
    value = _value_section(_ok(invoke("artifacts", "show", art.id[:10])))
    # Before: "<test_cli_views.Weights object at 0x7f...>", an address, not the value.
    assert (
        value
        == f"{Weights.__module__}.Weights(w=[0.5, 0.25, 0.0, 0.0, 0.0, 0.0, ...], name='linear')"
    )


@step
def reports() -> tuple[Annotated[Path, "folder"], Annotated[Path, "notes"], Annotated[Path, "bin"]]:
    folder = Path("report")
    (folder / "plots").mkdir(parents=True, exist_ok=True)
    for i in range(25):
        (folder / "plots" / f"p{i:02}.svg").write_text("<svg/>" * i)
    (folder / "index.html").write_text("<html></html>")
    Path("notes.txt").write_text("accuracy went up\n" + "é" * 5000)
    Path("weights.bin").write_bytes(bytes(range(256)) * 4)
    return folder, Path("notes.txt"), Path("weights.bin")


@pipeline
def reporting() -> None:
    reports()


def test_artifacts_show_lists_a_path_artifact_in_place(bevel_home: Path, invoke: Invoke) -> None:
    outputs = reporting().steps["reports"].outputs

    def shown(name: str) -> list[str]:
        return _value_section(_ok(invoke("artifacts", "show", outputs[name].id[:10]))).splitlines()

    # Before: "PosixPath('/tmp/bevel-loaded-.../report')", a private copy made only to print it.
    folder = shown("folder")
    assert folder[:4] == [
        "report/",
        "  index.html  (13 bytes)",
        "  plots/p00.svg  (0 bytes)",
        "  plots/p01.svg  (6 bytes)",
    ]
    assert len(folder) == 22 and folder[-1] == "  … more (the metadata below counts them all)"
    notes = shown("notes")
    assert notes[:2] == ["notes.txt  (10,017 bytes)", "accuracy went up"]
    assert notes[2].startswith("éééé") and notes[-1].endswith("…")
    assert shown("bin") == ["weights.bin  (1,024 bytes, binary)"]


@step
def quick(n: int = 2) -> int:
    print(f"computing {n} squared")
    return n * n


@pipeline
def squares(n: int = 2) -> None:
    quick(n)


def test_logs_of_a_cached_step_come_from_the_run_that_produced_it(
    bevel_home: Path, invoke: Invoke
) -> None:
    first = squares.with_options(run_name="first")()
    second = squares.with_options(run_name="second")()
    assert second.steps["quick"].status == "cached"
    assert second.steps["quick"].cached_source() == first.steps["quick"]
    assert second.steps["quick"].logs() == "computing 2 squared\n"
    # Before: "no output was captured for step quick".
    shown = invoke("logs", "second", "quick")
    assert _ok(shown) == "computing 2 squared\n"
    assert "step quick was cached: its outputs come from step run " in shown.stderr
    assert "(quick in run first); these are that run's logs" in shown.stderr
    followed = invoke("logs", "-f", "second", "quick")  # the step is over: print and end
    assert _ok(followed) == "computing 2 squared\n"


def test_logs_of_a_cached_step_whose_producing_run_was_deleted(
    bevel_home: Path, invoke: Invoke
) -> None:
    first = squares.with_options(run_name="first")()
    squares.with_options(run_name="second")()
    producer = fmt.short_id(first.steps["quick"].id)
    _ok(invoke("runs", "delete", "first", "--yes"))
    for args in (("logs", "second", "quick"), ("logs", "-f", "second", "quick")):
        shown = invoke(*args)
        # Before: "no output was captured for step quick", as if it had printed nothing.
        assert _ok(shown) == ""
        assert shown.stderr == (
            f"step quick was cached from step run {producer} of a run that was deleted since; "
            "its logs were deleted with it\n"
        )


def test_logs_follow_of_a_finished_step_prints_it_and_ends(
    bevel_home: Path, invoke: Invoke
) -> None:
    squares.with_options(run_name="done")()
    followed = invoke("logs", "-f", "done", "quick")
    assert _ok(followed) == "computing 2 squared\n"
    assert followed.stderr.splitlines()[-1] == "step quick completed"
    unknown = invoke("logs", "-f", "done", "qiuck")
    assert unknown.exit_code == 1 and "run 'done' has no step 'qiuck'" in unknown.stderr
    assert "steps: quick" in unknown.stderr


def test_a_step_that_prints_nothing_leaves_no_log_file(bevel_home: Path, invoke: Invoke) -> None:
    @step
    def silent() -> int:
        return 1

    @pipeline
    def quiet() -> None:
        silent()

    run = quiet()
    assert run.steps["silent"].logs_uri is None
    assert not list((bevel_home / "artifacts" / "logs" / run.id).glob("*"))
    shown = invoke("logs", run.name, "silent")
    assert shown.exit_code == 0 and "no output was captured for step silent" in shown.stderr
